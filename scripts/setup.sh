#!/usr/bin/env bash
# Install everything Synthetic and its tests need into ./.venv, then run the
# main job on the built-in example: check its synthetic.config.ts and print
# the diagnostics. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v git >/dev/null 2>&1 || need_apt+=(git)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv python3-pip)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
    else
        echo "setup: please install: ${need_apt[*]}" >&2
        exit 1
    fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-ci.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
# Byte-compile our sources once: where PYTHONDONTWRITEBYTECODE is set, every
# command would otherwise recompile them (tens of ms per start).
.venv/bin/python -m compileall -q synthetic_ls state_format >/dev/null

echo "== synthetic config check (built-in example) =="
example="synthetic_ls/examples/demo"
set +e
.venv/bin/synthetic config check "$example/synthetic.config.ts"
code=$?
set -e
echo "(exit code $code; the example has deliberate mistakes so that diagnostics show)"
