"""Consent before a repository's code runs.

A cloned repository is untrusted: its template's setup, services, teardown
and stop commands, and the plugins, tools, MCP servers, formatters and
language servers of its OpenCode config, are code it asks the person to
run. Before any of them runs for the first time, Synthetic lists them and
asks (as ``direnv allow``, ``mise trust`` and VS Code's workspace trust do),
and remembers the answer outside the repository, keyed by the content that
was trusted: a changed command or plugin is asked about again.

- :mod:`.items`: what a repository would run (:class:`~.items.RunItem`), each
  with a digest of its content;
- :mod:`.sources`: the files OpenCode would load, read from a folder or from a
  commit (a worktree that does not exist yet);
- :mod:`.trust_store`: the answers, in ``$XDG_DATA_HOME/synthetic/trust/``;
- :mod:`.gate`: the check an operation makes before it runs anything.

Reads never need consent: they run nothing.
"""
