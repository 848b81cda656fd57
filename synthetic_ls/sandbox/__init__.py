"""Isolated constructs: the agent and the services of a construct in a sandbox.

A template's ``isolation`` (:class:`synthetic_ls.config.schema.Isolation`)
puts everything that runs for a construct, its OpenCode server (so every
tool its agent calls) and its services, in a sandbox that sees the
construct's worktree and what git needs to commit on the construct's branch,
and nothing else of the person's: their home, the state folder (with the
OpenCode password), the main checkout and the other constructs' worktrees
are hidden.

* :mod:`.plan`: what a construct's sandbox sees (:class:`~.plan.SandboxPlan`).
* :mod:`.bubblewrap`: the ``bwrap`` command line for it (no image, instant).
* :mod:`.runner`: the :class:`~synthetic_ls.runtime.runner.Runner` that runs
  setup commands and services through it.
* :mod:`.agent_server`: the construct's own ``opencode serve``, in the sandbox.
"""
