"""Other machines, reached over SSH: the person's hosts and the ``ssh`` plumbing.

A building block under ``ops``: :mod:`.host_url` parses and validates a host's
address, :mod:`.host_store` keeps the person's hosts outside every
repository, and :mod:`.ssh` runs commands on a host with the system ``ssh``
(the person's SSH config is the truth) within a bounded time.
"""
