"""What runs: process groups, the service supervisor and its logs, the OpenCode server record.

Everything here starts, watches or ends processes. :mod:`state_format` only
describes the files; this package is where Synthetic acts on the machine
(today: local process groups and the docker CLI; sandboxes, containers and
SSH hosts come in behind the same runner).
"""
