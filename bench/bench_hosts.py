"""Benchmark: constructs on other machines over SSH (issue 24), against baselines in the same run.

Run by hand, as root (it starts Debian's sshd on 127.0.0.1 as the tests do;
scripts/setup.sh installs openssh-server)::

    .venv/bin/python bench/bench_hosts.py [--rounds 5]

Prints, each with its ratio to its baseline:

1. ``synthetic new --host`` (an agent-less template: a worktree and a
   branch on the host) against the same steps by hand: ``git push`` of the
   start point to the host's clone, then ``ssh HOST synthetic -C CLONE new
   --from REF --trust --json``;
2. ``synthetic ls`` with constructs on three hosts (asked in parallel) and
   three local ones, against ``ls`` of a repository with the three local
   ones alone; and the same with one of the hosts refusing connections (its
   construct marked ``unreachable``, within its bound).

3. a prompt's round trip (``synthetic session send REF TEXT --wait``, the
   offline model answering) to an agent on a host, through the forward to
   the host's OpenCode server, against the same to a local construct's
   agent (the same offline model, a local server): each command asks the
   host over ssh how to reach its agent (``session connect``), then talks to
   the forward the previous command left open.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.remote.sshd_server import ALIAS, DOWN, SshServer, start_sshd  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}
CONFIG = ('export default { defaults: { templateId: "t" }, templates: { t: {}, '
          'a: { agent: { providerId: "offline", modelId: "echo" } } } };\n')


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def synthetic(repo: Path, env: dict[str, str], *argv: str) -> str:
    return run([sys.executable, "-m", "synthetic_ls", *argv], repo, env)


def median_of(rounds: int, call: object) -> float:
    times = []
    for n in range(rounds):
        start = time.perf_counter()
        call(n)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        server = start_sshd(base / "sshd")
        try:
            env = server.env(**GIT_ENV, XDG_CONFIG_HOME=str(base / "config"),
                             XDG_DATA_HOME=str(base / "data"),
                             SYNTHETIC_WORKTREES_DIR=str(base / "local-wt"),
                             PYTHONPATH=str(ROOT))
            local = base / "app"
            local.mkdir()
            (local / "synthetic.config.ts").write_text(CONFIG)
            for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
                run(["git", *argv], local, env)
            synthetic(local, env, "trust", "--yes")
            clones = []
            for n in range(3):
                clone = base / f"clone{n}"
                run(["git", "clone", "-q", str(local), str(clone)], base, env)
                synthetic(local, env, "host", "add", f"h{n}", f"ssh://{ALIAS}{clone}")
                clones.append(clone)
            head = run(["git", "rev-parse", "HEAD"], local, env).strip()

            def by_synthetic(n: int) -> None:
                synthetic(local, env, "new", f"via synthetic {n}", "--host", "h0", "--trust",
                          "--json")

            def by_hand(n: int) -> None:
                ref = f"refs/heads/by-hand-{n}"
                run(["git", "push", "-q", f"ssh://{ALIAS}{clones[0]}", f"{head}:{ref}"], local,
                    env)
                run(["ssh", ALIAS, f"synthetic -C {clones[0]} new 'by hand {n}' --from {ref} "
                     "--trust --json"], local, env)

            hand = median_of(args.rounds, by_hand)
            tool = median_of(args.rounds, by_synthetic)
            print(f"rounds: {args.rounds} (medians)")
            print(f"new --host:            {tool:6.2f} s   by hand (push + ssh new): "
                  f"{hand:6.2f} s   ratio {tool / hand:4.2f}x")

            for n in (1, 2):
                synthetic(local, env, "new", f"there {n}", "--host", f"h{n}", "--trust")
            for n in range(3):
                synthetic(local, env, "new", f"here {n}", "--trust")
            remote_ls = median_of(args.rounds, lambda _n: synthetic(local, env, "ls", "--json"))
            listed = json.loads(synthetic(local, env, "ls", "--json"))["constructs"]
            hosts = {c.get("host") for c in listed}
            # The same repository's local constructs alone: a copy without the remote records.
            alone = base / "alone"
            run(["git", "clone", "-q", str(local), str(alone)], base, env)
            synthetic(alone, env, "trust", "--yes")
            for n in range(3):
                synthetic(alone, env, "new", f"here {n}", "--trust")
            local_ls = median_of(args.rounds, lambda _n: synthetic(alone, env, "ls", "--json"))
            print(f"ls, constructs on {len(hosts - {None})} hosts + 3 local: {remote_ls:6.2f} s"
                  f"   3 local only: {local_ls:6.2f} s   ratio {remote_ls / local_ls:4.2f}x")
            # One of the three hosts down: the record of its construct names an address
            # that refuses connections (edited as a person may edit the plain TOML).
            records = sorted((local / ".git/synthetic/remotes").glob("*.toml"))
            down = next(r for r in records if 'host = "h2"' in r.read_text())
            before = down.read_text()
            down.write_text(before.replace(f"ssh://{ALIAS}", f"ssh://{DOWN}"))
            down_ls = median_of(args.rounds, lambda _n: synthetic(local, env, "ls", "--json"))
            marked = [c for c in json.loads(synthetic(local, env, "ls", "--json"))["constructs"]
                      if c.get("host") == "h2"]
            down.write_text(before)
            print(f"ls with one of the three hosts refusing connections: {down_ls:6.2f} s   "
                  f"ratio {down_ls / local_ls:4.2f}x (its construct: "
                  f"{marked[0]['status'] if marked else 'not listed'})")
            prompt_round_trip(args.rounds, server, base, local, env)
        finally:
            from state_format.store import Store
            from synthetic_ls.remote.forward import close_forward, recorded_forwards

            state = Store.open(local).local_dir
            for f in recorded_forwards(state):
                close_forward(state, f.host, f.remote_port)
            for clone in (base / f"clone{n}" for n in range(3)):
                if clone.exists():
                    for c in json.loads(synthetic(clone, env, "ls", "--json"))["constructs"]:
                        synthetic(clone, env, "rm", c["id"], "--yes", "--force")
            # Last: removing a construct with an agent asks its server (starting it).
            for repo in (local, *(base / f"clone{n}" for n in range(3))):
                if repo.exists():
                    subprocess.run([sys.executable, "-m", "synthetic_ls", "opencode", "stop"],
                                   cwd=repo, env=env, capture_output=True, timeout=60)
            server.stop()


def prompt_round_trip(rounds: int, server: SshServer, base: Path, local: Path,
                      env: dict[str, str]) -> None:
    """A prompt's round trip to an agent on a host (through the forward) and to a local one."""
    from synthetic_ls.opencode.offline_model import opencode_config, start_server_in_thread

    model, stop_model = start_server_in_thread()
    try:
        config = opencode_config(model.url)
        # The host's sessions and this side's server read the person's OpenCode config.
        for home in (server.dir / "remote-home" / ".config", base / "config"):
            (home / "opencode").mkdir(parents=True, exist_ok=True)
            (home / "opencode" / "opencode.json").write_text(config)
        there = json.loads(synthetic(local, env, "new", "agent there", "--host", "h0",
                                     "--template", "a", "--trust", "--json"))["id"]
        here = json.loads(synthetic(local, env, "new", "agent here", "--template", "a",
                                    "--trust", "--json"))["id"]

        def send(ref: str, n: int) -> None:
            answer = json.loads(synthetic(local, env, "session", "send", ref, f"ping {n}",
                                          "--wait", "--json"))
            if answer["state"] != "idle" or f"ping {n}" not in (answer["reply"] or ""):
                raise SystemExit(f"the prompt to {ref} did not come back: {answer}")

        send(there, -1)  # the forward opened, both servers warm
        send(here, -1)
        far = median_of(rounds, lambda n: send(there, n))
        near = median_of(rounds, lambda n: send(here, n))
        print(f"prompt round trip, agent on a host (forward): {far:6.2f} s   local agent: "
              f"{near:6.2f} s   ratio {far / near:4.2f}x")
    finally:
        stop_model()


if __name__ == "__main__":
    main()
