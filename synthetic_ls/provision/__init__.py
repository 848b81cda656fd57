"""Per-construct resources and the one lifecycle they all implement.

A construct owns resources: its worktree and branch, the include files copied
into it, ports, a prompt bundle, services and an agent session. Each is one
module here with one class implementing
:class:`~synthetic_ls.provision.lifecycle.Resource`; its steps receive the
construct under one operation (:mod:`~synthetic_ls.provision.work`: a
:class:`~synthetic_ls.provision.work.Creation`, a
:class:`~synthetic_ls.provision.work.Release`, or a plain
:class:`~synthetic_ls.provision.work.Work` to undo), and the operation's
immutable :class:`~synthetic_ls.provision.context.Context`:

========  ===================================================  ==========================
step      what it does                                         who calls it
========  ===================================================  ==========================
plan      what it would do, with no side effect                ``--dry-run``, previews
preflight refuse before anything is written (a server that     creation, before the record
          cannot use the model)
prepare   names chosen before anything is made (a folder,      creation, before provision
          a branch), written to the record with the journal
warm      begin slow work provision will need, in the          creation, after each
          background, making nothing to undo (a server         earlier step
          loading a folder)
provision make it                                              creation
undo      remove what provision made, even half-made           a failed creation, recovery
release   remove it when the construct or worktree goes        ``rm``, ``worktree rm``
          (``preflight_release`` first refuses to lose work)
recover   (the flow, with undo and release) undo a creation    ``doctor --fix``, the next
          step or finish a removal step a dead process left    change of that construct
check     findings about it, each with its own safe fix        ``doctor``, editor actions
========  ===================================================  ==========================

:data:`~synthetic_ls.provision.resources.RESOURCES` is the ordered list.
:mod:`~synthetic_ls.provision.flow` walks it for creation (in order), removal
(in reverse), recovery and checks, and knows no resource by name: adding a
resource is one module and one line in that list.

The journal: before a step runs, the flow writes it to the construct's
record (``journal = {op, owner, started, done, groups, restore}``, specified
in ``state_format/README.md``). The owner names the process by pid, start
time, host, boot id and PID namespace (:mod:`state_format.owner`), so a
creation still running elsewhere, or a reused pid, is never taken for a
dead one. Child processes (``git worktree add``, setup commands, services)
run in their own process group, recorded in the journal before they may run
anything (:mod:`synthetic_ls.runtime.proc`), and recovery ends that group before it
undoes anything. Reading (``ls``, ``show``, an editor's
refresh) never recovers; ``doctor --fix`` and the next operation that
changes the construct do.
"""
