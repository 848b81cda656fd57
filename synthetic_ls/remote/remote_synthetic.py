"""The host's own Synthetic and git, driven over SSH: JSON in, JSON out.

A remote construct is the remote repository's: its Synthetic creates,
lists and removes it under its own journal and lock. This module runs that
Synthetic (``synthetic -C PATH ... --json``, or ``python3 -m synthetic_ls``
when the command is not on the host's PATH), turns its JSON error into a
coded error here (``remote-failed``, naming the remote's code), and pushes a
start point to the host's clone with ``git push`` over ``ssh://`` (the
person's SSH config applies: ``GIT_SSH_COMMAND`` and ``GIT_SSH`` are not
passed on).

A change on the host (``new``, ``rm``) is *tied* to the connection
(:func:`run_tied`): a small ``sh`` watchdog on the host ends the remote
command when the connection's input closes, so a local ``kill -9`` or a
dropped connection never leaves the remote creation running unseen; it is
then the remote's interrupted operation, which its own recovery settles.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from state_format.text import one_line
from synthetic_ls.errors import SyntheticError
from synthetic_ls.remote.host_url import HostUrl
from synthetic_ls.remote.ssh import (
    CALL_TIMEOUT,
    SSH_FAILED,
    Completed,
    posix_script,
    remote_command,
    run_remote,
    ssh_argv,
    ssh_error,
)

#: Seconds a creation or removal on the host may take (services may take a while to be ready).
CHANGE_TIMEOUT = 600.0
#: The ref a start point is pushed to in the host's clone: ``<prefix><local record id>``.
INCOMING_PREFIX = "refs/synthetic/incoming/"

#: Runs the host's Synthetic with the arguments after ``$0``: its command, else the module.
_SYNTHETIC = ('if command -v synthetic >/dev/null 2>&1; then exec synthetic "$@"; '
              'else exec python3 -m synthetic_ls "$@"; fi')

#: Runs the host's Synthetic in the background and ends it (SIGTERM) when the
#: connection's input closes: the local side keeps that input open while it waits.
#: The watchdog's own output goes to /dev/null, so the session ends with the command.
#: (A background job's input is /dev/null unless redirected: the connection's is kept as 3.)
_TIED = ('exec 3<&0; run() { ' + _SYNTHETIC + '; }; run "$@" </dev/null 3<&- & pid=$!; '
         '( cat <&3 >/dev/null; kill -TERM "$pid" ) >/dev/null 2>&1 & watch=$!; exec 3<&-; '
         'wait "$pid"; status=$?; kill "$watch" 2>/dev/null; exit "$status"')


def synthetic_line(path: str, *args: str, tied: bool = False,
                   options: tuple[str, ...] = ()) -> str:
    """The remote shell line running the host's ``synthetic [options] -C path args...``,
    each word quoted."""
    script = _TIED if tied else _SYNTHETIC
    return f"{posix_script(script)} synthetic {remote_command(*options, '-C', path, *args)}"


def _remote_error(host: str, args: tuple[str, ...], done: Completed) -> SyntheticError:
    """The host's Synthetic failed: its own JSON error when it printed one."""
    what = f"`synthetic {' '.join(a for a in args[:2] if not a.startswith('-'))}`" \
        if args else "synthetic"
    for line in reversed(done.stderr.strip().splitlines()):
        try:
            payload = json.loads(line)["error"]
            message, code = str(payload["message"]), str(payload["code"])
        except (ValueError, KeyError, TypeError):
            continue
        fields: dict[str, Any] = {"host": host, "remote_code": code}
        if code == "consent-required" and isinstance(payload.get("items"), list):
            # What the host would run: asked about here before the host is told --trust.
            fields["items"] = payload["items"]
        return SyntheticError(f"on host {host}, {what} failed: {message}", code="remote-failed",
                              fields=fields)
    detail = one_line(done.stderr.strip() or done.stdout.strip() or
                      f"exit status {done.returncode}", 400)
    return SyntheticError(f"on host {host}, {what} failed: {detail}", code="remote-failed",
                          fields={"host": host, "remote_code": "unknown"})


def _parse(host: str, args: tuple[str, ...], done: Completed,
           statuses: tuple[int, ...] = (0,)) -> dict[str, Any]:
    if done.returncode not in statuses:
        raise _remote_error(host, args, done)
    try:
        data = json.loads(done.stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SyntheticError(f"on host {host}, `synthetic {args[0]}` did not answer JSON: "
                             f"{one_line(done.stdout, 200)!r}", code="remote-failed",
                             fields={"host": host, "remote_code": "bad-json"})
    return data


def _with_json(args: tuple[str, ...], words: int = 1) -> tuple[str, ...]:
    """``--json`` right after the command's ``words`` (``ls``; ``session connect``): the rest
    may end with ``-- NAME``."""
    return (*args[:words], "--json", *args[words:])


def run_json(host: str, url: HostUrl, *args: str, timeout: float = CALL_TIMEOUT,
             words: int = 1, statuses: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Run the host's ``synthetic -C PATH COMMAND --json args...`` (a read); its JSON answer.

    ``words``: how many of ``args`` name the command (2 for ``session connect``);
    ``statuses``: the exit statuses that still answer JSON (``services status``
    exits 1 when a service needs attention).
    Give a name or id after ``--`` in ``args``: the host's argument parser then
    never reads it as an option, whatever it holds."""
    done = run_remote(host, url, synthetic_line(url.path, *_with_json(args, words)),
                      timeout=timeout)
    return _parse(host, args, done, statuses)


def run_text(host: str, url: HostUrl, *args: str, timeout: float = CALL_TIMEOUT) -> str:
    """Run the host's ``synthetic -C PATH args...`` (a read, for a person); its output."""
    # No colour: the text is shown here, through this side's terminal guard.
    line = synthetic_line(url.path, *args, options=("--color", "never"))
    done = run_remote(host, url, line, timeout=timeout)
    if not done.ok:
        raise _remote_error(host, args, done)
    return done.stdout


def run_tied(host: str, url: HostUrl, *args: str, timeout: float = CHANGE_TIMEOUT,
             words: int = 1, statuses: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Run the host's ``synthetic -C PATH args... --json`` (a change), tied to the connection.

    ``words`` and ``statuses`` as for :func:`run_json`.

    The remote command ends when this process or its connection goes (see the
    module's docstring); a call that outlasts ``timeout`` is ended the same way
    and raises ``host-unreachable``.
    """
    argv = ssh_argv(url, synthetic_line(url.path, *_with_json(args, words), tied=True))
    # The host's watchdog reads this pipe: it stays open while we wait, and
    # closes (the remote command ends) when this process dies, whatever kills it.
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(argv, stdin=read_end, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace")
    finally:
        os.close(read_end)
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise SyntheticError(
                f"host {host} ({url.destination}) did not finish `synthetic {args[0]}` "
                f"within {timeout:g} s", code="host-unreachable",
                fields={"host": host, "detail": "timed out"}) from None
        except BaseException:
            # Ctrl-C or a cancel: the connection goes, so the host's command ends too.
            proc.kill()
            proc.wait()
            raise
    finally:
        os.close(write_end)
    if proc.returncode == SSH_FAILED:
        raise ssh_error(host, url, err)
    return _parse(host, args, Completed(proc.returncode, out, err), statuses)


def git_env() -> dict[str, str]:
    """This environment without what would replace the person's ssh for git."""
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_SSH_COMMAND", "GIT_SSH")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def push_start(host: str, url: HostUrl, repo: str, commit: str, ref: str,
               timeout: float = CHANGE_TIMEOUT) -> None:
    """Push ``commit`` of the local repository ``repo`` to ``ref`` in the host's clone."""
    if not ref.startswith(INCOMING_PREFIX):
        raise ValueError(f"not an incoming ref: {ref}")
    argv = ["git", "-C", repo, "push", "--quiet", "--no-verify", str(url), f"{commit}:{ref}"]
    try:
        done = subprocess.run(argv, env=git_env(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SyntheticError(f"host {host} ({url.destination}) did not take the push within "
                             f"{timeout:g} s", code="host-unreachable",
                             fields={"host": host, "detail": "git push timed out"}) from None
    if done.returncode != 0:
        detail = one_line(done.stderr.strip() or f"exit status {done.returncode}", 400)
        raise SyntheticError(f"pushing the start point to host {host} failed: {detail}",
                             code="remote-push-failed", fields={"host": host, "detail": detail})


def delete_ref(host: str, url: HostUrl, ref: str) -> None:
    """Delete ``ref`` (an incoming ref) in the host's clone; a ref (or clone) already gone
    is fine."""
    if not ref.startswith(INCOMING_PREFIX):
        raise ValueError(f"not an incoming ref: {ref}")
    # No clone there: no ref either (a push to a wrong path made nothing).
    path = remote_command(url.path)
    delete = remote_command("git", "-C", url.path, "update-ref", "-d", ref)
    done = run_remote(host, url, posix_script(f"test -d {path} || exit 0; {delete}"))
    if not done.ok:
        raise SyntheticError(f"on host {host}, deleting {ref} failed: "
                             f"{one_line(done.stderr, 300)}", code="remote-failed",
                             fields={"host": host, "remote_code": "git"})
