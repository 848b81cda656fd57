"""Every error code Synthetic reports, declared once: its kind, meaning, fields and remedy.

An error a person is shown has a stable ``code`` (a name, never reworded),
one line of message, and structured fields (:class:`~state_format.errors.CodedError`).
This registry is the one place a code is declared: what it means, what
fields come with it, what to do about it, and its :class:`Kind`. Faces map
the kind to their own form (the CLI to an exit code, in
:mod:`synthetic_ls.cli.exit_codes`; the language server passes the code in
the JSON-RPC error's data) and never match on message text. A test fails
when a code is raised anywhere that is not declared here, or is missing
from the documentation's errors page (docs/reference/errors.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """What sort of failure a code is; the CLI gives each kind one exit status."""

    FAILED = "failed"  # the operation ran and failed, or found errors
    USAGE = "usage"  # the command line was not understood
    NOT_FOUND = "not-found"  # something named does not exist
    STATE = "state"  # the on-disk state cannot be used (broken, newer, unreadable)
    CONFLICT = "conflict"  # the request conflicts with how things are now
    NOT_A_REPOSITORY = "not-a-repository"  # not in a usable git repository
    INVALID = "invalid"  # the input (a name, an option, the config) was rejected
    CONSENT = "consent"  # it would run the repository's code, not allowed by the person
    INTERRUPTED = "interrupted"  # stopped by the person (Ctrl-C, Cancel)
    INTERNAL = "internal"  # a bug in Synthetic


@dataclass(frozen=True)
class ErrorCode:
    """One error code: its kind, what it means, its fields, and what to do about it."""

    code: str
    kind: Kind
    meaning: str
    remedy: str = ""
    fields: tuple[str, ...] = ()


_F, _U, _N, _S = Kind.FAILED, Kind.USAGE, Kind.NOT_FOUND, Kind.STATE
_C, _R, _I = Kind.CONFLICT, Kind.NOT_A_REPOSITORY, Kind.INVALID

_CODES = (
    # -- general ---------------------------------------------------------------
    ErrorCode("failed", _F, "The operation failed.", "Read the message; it says what failed."),
    ErrorCode("usage", _U, "The command line was not understood.",
              "See `synthetic COMMAND --help`."),
    ErrorCode("not-found", _N, "Something that was named does not exist (a file, a finding).",
              "Check the name."),
    ErrorCode("conflict", _C, "The request conflicts with the current state (a status that "
              "cannot change that way, something that exists already).",
              "Read the message for what is in the way."),
    ErrorCode("invalid-input", _I, "The input was rejected (a name, an option, an argument).",
              "Correct the input the message names.", ("key", "unknown", "missing")),
    ErrorCode("internal", Kind.INTERNAL, "A bug in Synthetic.",
              "Report it; SYNTHETIC_DEBUG=1 shows the traceback."),
    ErrorCode("interrupted", Kind.INTERRUPTED, "Stopped by Ctrl-C; what was begun was undone.",
              "Run the command again."),
    ErrorCode("cancelled", Kind.INTERRUPTED, "Cancelled by the person (an editor's Cancel); "
              "what was begun was undone.", "Run it again when you want it."),
    # -- the repository and the state --------------------------------------------
    ErrorCode("not-a-repository", _R, "Not inside a git work tree (or the folder is not one).",
              "Run Synthetic inside a git repository's work tree (`git init` makes one)."),
    ErrorCode("bare-repository", _R, "The repository is bare: constructs need a work tree.",
              "Clone it with a work tree and run Synthetic there."),
    ErrorCode("unsafe-repository", _R, "git refuses the repository (`safe.directory`: it "
              "belongs to another user).",
              "Only if you trust its owner: the `git config` command the message gives."),
    ErrorCode("no-commits", _C, "The repository has no commit yet; a worktree needs one to "
              "start from.", "Commit once, then retry."),
    ErrorCode("sha256-repository", _I, "The repository uses SHA-256 object ids, which the "
              "git library Synthetic uses cannot open.",
              "`synthetic new NAME --no-worktree` still works."),
    ErrorCode("state", _S, "The on-disk state cannot be used as asked.",
              "Read the message; `synthetic doctor` tells more.", ("path",)),
    ErrorCode("format-too-new", _S, "The state was written by a newer Synthetic.",
              "Upgrade Synthetic.", ("path",)),
    ErrorCode("broken-record", _S, "A record file is not valid TOML or does not match its "
              "schema; it is never overwritten.", "Fix the file by hand at the line given.",
              ("file", "line")),
    ErrorCode("state-layout", _S, "Something under the state folder is of the wrong kind (a "
              "file where a folder belongs ...).", "Move it away, as the message says.",
              ("path",)),
    ErrorCode("state-access", _S, "The system refused to read or write the state (permissions, "
              "a read-only or full disk).", "Fix the permission or free space.", ("path", "errno")),
    ErrorCode("invalid-record", _I, "A record to write does not satisfy the format; nothing "
              "was written.", "Correct the value the message names."),
    ErrorCode("lock-timeout", _C, "Another process held the state lock for too long.",
              "Wait for the other command to finish, then retry."),
    ErrorCode("lock-lost", _C, "The lock file was deleted or replaced while held; the write "
              "was abandoned.", "Retry; do not delete `.git/synthetic/.lock` by hand."),
    ErrorCode("record-not-found", _N, "No construct (or record) matches the reference by id, "
              "exact name or id prefix.", "`synthetic ls` lists the constructs."),
    ErrorCode("ambiguous-reference", _N, "A name or id prefix matches more than one record.",
              "Use the id, or more of it."),
    ErrorCode("operation-in-progress", _C, "Another process (alive, or out of sight on another "
              "host) is working on this construct.",
              "Wait for it; `synthetic doctor` tells more.", ("construct", "op", "owner")),
    # -- the config and templates -------------------------------------------------
    ErrorCode("no-config", _I, "The repository has no synthetic.config.ts.",
              "Create one with `synthetic init`."),
    ErrorCode("config-has-errors", _I, "synthetic.config.ts has errors.",
              "`synthetic config check` lists them."),
    ErrorCode("unknown-template", _I, "The template named is not in the config.",
              "Pick one `synthetic config templates` lists.", ("template_id",)),
    ErrorCode("no-default-template", _I, "No template was named and the config sets no "
              "`defaults.templateId`.", "Pass --template ID."),
    ErrorCode("env-unset", _I, "A `process.env.X` or `${env.X}` the template uses is not set.",
              "Set the variable, or give a default in the config.", ("variable",)),
    ErrorCode("cwd-escapes", _I, "A service's `cwd` leads out of the construct's worktree.",
              "Use a folder inside the worktree."),
    ErrorCode("prompt-error", _I, "A prompt file cannot be used (missing, unreadable, too "
              "large, or with an unknown variable).", "Fix the file or the config entry.",
              ("file", "line", "column")),
    # -- constructs and worktrees --------------------------------------------------
    ErrorCode("no-worktree", _N, "The construct has no worktree (made without one, or it was "
              "removed).", "Give it one with `synthetic worktree add REF`.", ("construct",)),
    ErrorCode("unsaved-work", _C, "Removing the worktree would lose work (uncommitted changes, "
              "commits only it reaches, edited include files).",
              "Commit it, or confirm the loss (--force).", ("path", "work")),
    ErrorCode("git-failed", _F, "A git step failed.", "The message quotes git.",
              ("step", "detail")),
    # -- review and landing -----------------------------------------------------------
    ErrorCode("no-branch", _N, "The construct has no branch (made without a worktree).",
              "Nothing to review or land.", ("construct",)),
    ErrorCode("branch-gone", _N, "The construct's branch was deleted (by hand).",
              "Remove the construct, or recreate the branch.", ("construct", "branch")),
    ErrorCode("target-missing", _N, "The branch to land into does not exist, or none is known.",
              "Pass --into BRANCH.", ("construct", "target")),
    ErrorCode("target-not-checked-out", _C, "The branch to land into is checked out nowhere.",
              "`git switch BRANCH` in the main checkout, or pass --into.",
              ("construct", "target")),
    ErrorCode("target-dirty", _C, "The checkout of the branch to land into has local changes "
              "or an operation in progress.", "Commit or stash them first.",
              ("construct", "path", "files", "operation")),
    ErrorCode("target-files-in-the-way", _C, "Landing would overwrite untracked or ignored "
              "files (a .env) in the checkout of the branch to land into.",
              "Move them away, or keep them and drop them from the construct's branch.",
              ("construct", "path", "files")),
    ErrorCode("construct-dirty", _C, "The construct's worktree has uncommitted changes, which "
              "landing would leave behind.", "`synthetic commit REF -m MESSAGE`, or discard it.",
              ("construct", "path", "files")),
    ErrorCode("merge-conflict", _C, "The construct's branch and the target conflict.",
              "`synthetic resolve REF`: the branch rebased onto the target, its agent (or you, "
              "--by-hand) resolving the conflicts.",
              ("construct", "target", "files")),
    ErrorCode("base-rewritten", _C, "The target was rewritten (force-pushed, reset) since the "
              "construct started from it.", "Rebase the construct's branch by hand, then land.",
              ("construct", "target", "base_commit", "target_tip")),
    ErrorCode("nothing-to-land", _F, "The branch holds no commit the target lacks.",
              "Nothing to do.", ("construct", "branch", "target")),
    ErrorCode("hook-failed", _F, "A git hook refused the landing or commit; what was begun "
              "was rolled back.", "Fix what the hook reports, then retry.",
              ("construct", "step", "detail", "hooks", "rolled_back")),
    ErrorCode("land-failed", _F, "A git step of the landing failed; it was rolled back.",
              "The message quotes git.", ("construct", "target", "step", "detail")),
    ErrorCode("resolve-in-progress", _C, "A rebase of the construct's branch (a resolve left "
              "for the person) is in progress in its worktree.",
              "`synthetic resolve REF --continue` once the conflicts are fixed, or `--abort`.",
              ("construct", "path")),
    ErrorCode("no-resolve-in-progress", _C, "`resolve --continue` or `--abort` with no rebase "
              "in progress in the construct's worktree.", "`synthetic resolve REF` begins one.",
              ("construct", "path")),
    ErrorCode("worktree-off-branch", _C, "The construct's worktree is not on its branch "
              "(detached, another branch, or another rebase in progress).",
              "Switch the worktree back to the construct's branch (or finish that rebase).",
              ("construct", "branch", "path")),
    ErrorCode("rebase-failed", _F, "`git rebase` refused to begin (a pre-rebase hook ...); "
              "nothing was changed.", "The message quotes git.",
              ("construct", "target", "step", "detail", "rolled_back")),
    ErrorCode("nothing-to-commit", _F, "The construct's worktree has no uncommitted change.",
              "Nothing to do.", ("construct",)),
    ErrorCode("commit-failed", _F, "`git commit` failed; the index was put back.",
              "The message quotes git.", ("construct", "step", "detail")),
    # -- services and ports ------------------------------------------------------------
    ErrorCode("unknown-service", _N, "No such service in the template, or of the construct.",
              "Use a name the message lists."),
    ErrorCode("which-service", _I, "The construct has several services and none was named.",
              "Name the service."),
    ErrorCode("service-failed", _F, "A service, or a setup or teardown command, failed.",
              "Its log's last lines are in the message.", ("command", "log", "status")),
    # -- checks ---------------------------------------------------------------------------
    ErrorCode("unknown-check", _N, "No such check in the construct's template (or it has "
              "none).", "Use a name the message lists; checks are the template's `checks`.",
              ("construct", "check")),
    ErrorCode("service-exited", _F, "A service exited before it was ready.",
              "Its log's last lines are in the message.", ("service", "log")),
    ErrorCode("service-timeout", _F, "A service did not print its readyPattern in time.",
              "Check the pattern and readyTimeoutMs.", ("service", "log")),
    ErrorCode("service-stuck", _F, "A service's process group would not end after SIGKILL.",
              "End it by hand (`kill -9 -PGID`).", ("pid",)),
    ErrorCode("service-elsewhere", _C, "The service runs on another host or in another PID "
              "namespace; it cannot be stopped from here.", "Stop it there."),
    ErrorCode("docker-unavailable", _F, "The docker command or its engine cannot be used.",
              "Install docker, or start its engine."),
    ErrorCode("sandbox-unavailable", _F, "An isolated construct's sandbox cannot be made "
              "here (no `bwrap`, or it cannot run).",
              "Install bubblewrap (`apt install bubblewrap`), or drop the template's `isolation`."),
    ErrorCode("container-image", _I, "A `container` construct's image cannot be found: its "
              "record names none, or its devcontainer cannot be read or has no `image` "
              "(only `image` devcontainers are supported, not `build`).",
              "Name an image in the template's `isolation.image` or the devcontainer's `image`."),
    ErrorCode("no-free-port", _F, "No free TCP port could be found for a request.",
              "Free some ports, or change the preferred ports."),
    # -- agent sessions and OpenCode ------------------------------------------------------
    ErrorCode("no-session", _N, "The construct has no agent session.",
              "`synthetic new NAME --agent` makes constructs with one.", ("construct",)),
    ErrorCode("no-pending-permission", _N, "The agent waits for no (such) permission.",
              "`synthetic session permissions REF` lists them.",
              ("construct", "session_id", "permission_id")),
    ErrorCode("provider-not-usable", _F, "OpenCode cannot use the template's provider or model.",
              "`opencode auth login`, or pick another provider.", ("provider", "model")),
    ErrorCode("model-not-found", _F, "The template's provider is usable but has no model of "
              "that id.", "Set the template's agent.modelId to one the message lists.",
              ("provider", "model")),
    ErrorCode("session-server-unreachable", _F, "A session must be deleted but no OpenCode "
              "server answers.", "`synthetic opencode start`, or pass --keep-session.",
              ("construct", "reason")),
    ErrorCode("opencode-stopped", _F, "A read needs the OpenCode server, which is not running "
              "(reads never start it).", "`synthetic opencode start` (so does any session "
              "command that acts: send, open).", ("construct",)),
    ErrorCode("opencode-too-old", _F, "The opencode installed lacks `attach --session`.",
              "Install opencode-ai 1.x.", ("binary",)),
    ErrorCode("opencode-unreachable", _F, "Nothing answers at the OpenCode server's address.",
              "`synthetic opencode status` tells more.", ("url",)),
    ErrorCode("opencode-timeout", _F, "OpenCode did not answer in time.",
              "Retry; a cold server on a loaded machine is slow.", ("url", "method", "path")),
    ErrorCode("opencode-http", _F, "OpenCode answered with an HTTP error.",
              "The message quotes it.", ("url", "status")),
    ErrorCode("opencode-bad-response", _F, "OpenCode's answer was not what was expected.",
              "Check the OpenCode version."),
    ErrorCode("opencode-auth", _F, "OpenCode refused the password.",
              "Check SYNTHETIC_OPENCODE_PASSWORD, or `synthetic opencode stop` and start."),
    ErrorCode("opencode-session-gone", _N, "The session no longer exists on the server.",
              "`synthetic doctor --fix` gives the construct a new session.", ("session_id",)),
    ErrorCode("opencode-stream-cut", _F, "OpenCode's event stream broke off.",
              "It is followed again by itself; retry if it gave up."),
    ErrorCode("opencode-start-failed", _F, "`opencode serve` could not be started or stopped.",
              "Its log is named in the message.", ("log",)),
    # -- hosts (other machines, over SSH) --------------------------------------------
    ErrorCode("unknown-host", _N, "No host of that name was added.",
              "`synthetic host ls` lists them; `synthetic host add NAME ssh://...` adds one.",
              ("host",)),
    ErrorCode("host-exists", _C, "A host of that name exists already.",
              "Pick another name, or `synthetic host rm NAME` first.", ("host",)),
    ErrorCode("hosts-file-broken", _S, "The hosts file (`~/.config/synthetic/hosts.toml`) "
              "cannot be read, or holds an entry that is not valid; it is never overwritten.",
              "Fix the file at the line given, or remove it.", ("file", "line")),
    ErrorCode("ssh-not-installed", _F, "No `ssh` command was found.",
              "Install OpenSSH's client (`apt install openssh-client`)."),
    ErrorCode("host-unreachable", _F, "The host did not answer over SSH within the bound "
              "(down, no route, nothing listening, or a name that does not resolve).",
              "Check the host and `ssh HOST` by hand.", ("host", "detail")),
    ErrorCode("host-key-changed", _F, "The host's key is not the one known_hosts holds; "
              "ssh refused it, and so does Synthetic.",
              "Check the new key with the host's administrator, then `ssh-keygen -R HOST`.",
              ("host", "detail")),
    ErrorCode("host-key-unknown", _F, "The host's key is not in known_hosts and Synthetic "
              "never accepts one by itself.", "Connect once with `ssh HOST` and check the key.",
              ("host", "detail")),
    ErrorCode("host-auth-failed", _F, "The host refused the login; Synthetic never asks for "
              "a password.", "Give ssh a key: `ssh-add`, or IdentityFile in ~/.ssh/config.",
              ("host", "detail")),
    ErrorCode("remote-failed", _F, "The host's own Synthetic (or git there) refused or "
              "failed; `remote_code` is its error code (with `consent-required`, `items` "
              "lists what the host would run).",
              "The message quotes the host's error; fix it there, or `ssh HOST` to look.",
              ("host", "remote_code", "items")),
    ErrorCode("agent-not-on-loopback", _F, "The construct's OpenCode server is a named one "
              "that is not on this machine's loopback, so another machine cannot forward it.",
              "On that host, let Synthetic manage the server (no `opencode.url`, no "
              "SYNTHETIC_OPENCODE_URL), or name one on 127.0.0.1.", ("construct", "url")),
    ErrorCode("remote-push-failed", _F, "Pushing the start point to the host's clone failed "
              "(`git push` over ssh).", "The message quotes git; check the clone's path and "
              "that `git push` to it works by hand.", ("host", "detail")),
    ErrorCode("remote-fetch-failed", _F, "Fetching a remote construct's branch from the "
              "host's clone for landing failed (`git fetch` over ssh); nothing was landed.",
              "The message quotes git; check that `git fetch` from the host's clone works by "
              "hand, then land again.", ("host", "detail")),
    # -- consent ------------------------------------------------------------------
    ErrorCode("consent-required", Kind.CONSENT, "The operation would run a repository's "
              "commands or OpenCode plugins, tools or MCP servers that you have not allowed; "
              "nothing ran.",
              "Read the list (`synthetic trust --list`); allow it with `synthetic trust`, "
              "answer yes on a terminal, or pass --trust; an editor asks in its own prompt.",
              ("items",)),
    ErrorCode("opencode-not-installed", _F, "No opencode command was found.",
              "scripts/setup.sh installs the pinned one; or npm install -g "
              "opencode-ai@VERSION (the message names it), or set SYNTHETIC_OPENCODE_URL.",
              ("path",)),
)

#: Every code, by name.
REGISTRY: dict[str, ErrorCode] = {c.code: c for c in _CODES}


def declared(code: str) -> ErrorCode:
    """The declaration of ``code``; an undeclared code is a bug, reported as ``internal``."""
    found = REGISTRY.get(code)
    if found is None:
        return ErrorCode(code, Kind.INTERNAL, f"undeclared error code {code!r}")
    return found


def kind_of(code: str) -> Kind:
    """The kind of failure ``code`` is."""
    return declared(code).kind


# -- the documentation's table --------------------------------------------------------------

#: The exit status of each kind, as the documentation says (the CLI's mapping,
#: :mod:`synthetic_ls.cli.exit_codes`, is checked against it by a test).
_EXIT = {
    Kind.FAILED: 1, Kind.USAGE: 2, Kind.NOT_FOUND: 3, Kind.STATE: 4, Kind.CONFLICT: 5,
    Kind.NOT_A_REPOSITORY: 6, Kind.INVALID: 7, Kind.CONSENT: 8, Kind.INTERNAL: 70,
    Kind.INTERRUPTED: 130,
}


def markdown_table() -> str:
    """The table of every code (the documentation's errors page, made by
    :mod:`synthetic_ls.reference_docs`): code, exit status, meaning, what to do, fields."""
    lines = ["| code | exit | meaning | what to do | fields |", "|---|---|---|---|---|"]
    for c in sorted(_CODES, key=lambda c: (_EXIT[c.kind], c.code)):
        fields = ", ".join(f"`{f}`" for f in c.fields)
        lines.append(f"| `{c.code}` | {_EXIT[c.kind]} | {c.meaning} | {c.remedy} | {fields} |")
    return "\n".join(lines)
