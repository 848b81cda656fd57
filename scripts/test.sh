#!/usr/bin/env bash
# The whole test suite: lint, type-check, then pytest (unit, integration, the
# language server over stdio, and the Neovim plugin in a real headless Neovim).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "test: run scripts/setup.sh first" >&2; exit 1; }
export PATH="$PWD/.venv/bin:$PATH"
# The real-editor tests (tests/e2e) fail, rather than skip, without their nvim.
export SYNTHETIC_E2E_REQUIRED=1

echo "== ruff =="
ruff check synthetic_ls state_format tests bench
echo "== mypy =="
mypy
echo "== pytest =="
set +e
python -m pytest -n 2 -q "$@"
code=$?
set -e
# Exit 5 means pytest collected no tests; treat it as a failure of the suite
# only if tests exist (there always should be).
if [ "$code" = 5 ]; then
    echo "test: pytest collected no tests" >&2
    exit 1
fi
exit "$code"
