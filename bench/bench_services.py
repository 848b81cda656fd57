"""Benchmark: port allocation under contention, and `services start` to ready.

Two figures, each against a baseline measured in the same run:

* **Ports.** 16 processes start at once, each allocating 4 ports for its own
  construct (under the state lock, with bind tests); printed: the number of
  duplicate ports among the 64 (must be 0) and the wall time of the 16
  against one process doing the same alone.
* **Start to ready.** ``synthetic services start REF`` for a service that
  prints its ready line at once (a Python one-liner), from the command's
  start to its exit with the service ready, against starting the same
  command by hand (``subprocess.Popen`` and reading its output until the
  line) in the same run. Medians of ``--rounds`` rounds; the service is
  stopped between rounds.

Run: ``.venv/bin/python bench/bench_services.py [--rounds N]``.
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

SYNTHETIC = [sys.executable, "-m", "synthetic_ls"]
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.invalid",
}
SERVICE = f"{sys.executable} -u -c \\\"print('ready', flush=True); import time; time.sleep(600)\\\""
CONFIG = f"""export default {{
  defaults: {{ templateId: "dev" }},
  templates: {{ dev: {{ services: {{ app: {{
    run: "{SERVICE}", readyPattern: "ready", ports: [{{ name: "http" }}] }} }} }} }},
}};
"""
ALLOCATE = """
import json, sys, time
from state_format.store import Store
from synthetic_ls.provision.ports import PortSpec, allocate
store = Store.open(sys.argv[1])
specs = [PortSpec("web", f"p{i}", None, None) for i in range(4)]
print(json.dumps([r.port for r in allocate(store, sys.argv[2], specs)]))
"""


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(args, cwd=cwd, env=ENV, check=True, capture_output=True,
                          text=True).stdout


def make_repo(root: Path) -> Path:
    repo = root / "app"
    repo.mkdir(parents=True)
    sh(repo, "git", "init", "-q", "-b", "main")
    (repo / "synthetic.config.ts").write_text(CONFIG)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", "init")
    sh(repo, *SYNTHETIC, "trust", "--yes")  # the bench's own repository: allowed
    return repo


def allocate_in(repo: Path, names: list[str]) -> tuple[float, list[int]]:
    """Start one allocating process per name at once; wall time and all ports."""
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", ALLOCATE, str(repo), n], env=ENV,
                              stdout=subprocess.PIPE, text=True) for n in names]
    ports: list[int] = []
    for p in procs:
        out, _ = p.communicate()
        ports.extend(json.loads(out))
    return time.perf_counter() - started, ports


def bench_ports(root: Path) -> None:
    repo = make_repo(root / "ports")
    one, _ = allocate_in(repo, ["solo"])
    many, ports = allocate_in(repo, [f"c{i}" for i in range(16)])
    dupes = len(ports) - len(set(ports))
    print(f"ports: 16 processes x 4 ports: {len(ports)} ports, {dupes} duplicates")
    print(f"ports: 16 at once {many * 1000:.0f} ms, one alone {one * 1000:.0f} ms "
          f"(ratio {many / one:.2f}x; 16 sequential would be about 16x)")


def by_hand() -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(["/bin/sh", "-c", SERVICE.replace('\\"', '"')],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    while "ready" not in proc.stdout.readline():
        pass
    took = time.perf_counter() - started
    proc.kill()
    proc.wait()
    return took


def bench_start(root: Path, rounds: int) -> None:
    repo = make_repo(root / "start")
    env = {**ENV, "SYNTHETIC_WORKTREES_DIR": str(root / "wt")}
    made = json.loads(subprocess.run([*SYNTHETIC, "new", "bench", "--json"], cwd=repo, env=env,
                                     check=True, capture_output=True, text=True).stdout)
    cid = made["id"]
    ours: list[float] = []
    hand: list[float] = []
    warm: list[float] = []
    os.environ["SYNTHETIC_WORKTREES_DIR"] = env["SYNTHETIC_WORKTREES_DIR"]
    from state_format.store import Store
    from synthetic_ls.ops.services import start_services, stop_services

    store = Store.open(repo)
    try:
        for _ in range(rounds):
            subprocess.run([*SYNTHETIC, "services", "stop", cid], cwd=repo, env=env, check=True,
                           capture_output=True)
            started = time.perf_counter()
            subprocess.run([*SYNTHETIC, "services", "start", cid], cwd=repo, env=env,
                           check=True, capture_output=True)
            ours.append(time.perf_counter() - started)
            hand.append(by_hand())
            # In a warm process, as the language server runs it.
            stop_services(store, cid)
            started = time.perf_counter()
            start_services(store, cid)
            warm.append(time.perf_counter() - started)
    finally:
        subprocess.run([*SYNTHETIC, "rm", cid, "--yes", "--force"], cwd=repo, env=env,
                       capture_output=True)
    a, b, c = statistics.median(ours), statistics.median(hand), statistics.median(warm)
    print(f"start to ready: synthetic services start {a * 1000:.0f} ms, by hand "
          f"{b * 1000:.0f} ms (ratio {a / b:.1f}x; medians of {rounds})")
    print(f"start to ready in a warm process (ops.start_services, as the language server): "
          f"{c * 1000:.0f} ms (ratio {c / b:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_ports(root)
        bench_start(root, args.rounds)


if __name__ == "__main__":
    main()
