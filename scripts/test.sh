#!/usr/bin/env bash
# The whole test suite: lint, type-check (Python and the VS Code extension),
# the extension's unit tests, then pytest (unit, integration, the language
# server over stdio, the Neovim plugin in a real headless Neovim, and the VS
# Code extension in a real VS Code: code-server in headless Chromium).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "test: run scripts/setup.sh first" >&2; exit 1; }
export PATH="$PWD/.venv/bin:$PATH"
# The real-editor tests (tests/e2e, tests/vscode) fail, rather than skip,
# without their nvim, code-server, .vsix, Chromium or Playwright.
export SYNTHETIC_E2E_REQUIRED=1

echo "== ruff =="
ruff check synthetic_ls state_format tests bench
echo "== mypy =="
mypy
echo "== vscode-extension: eslint, tsc, unit tests, .vsix =="
(
    cd vscode-extension
    npx --no-install eslint src test
    npx --no-install tsc --noEmit
    npm test --silent
    # tests/vscode installs this .vsix: build it from the sources as they are.
    npm run --silent package >/dev/null
)
echo "== pytest =="
# The docker and compose services tests and the container isolation tests
# need a Docker engine: start one for the run (as root; an engine that
# already answers is used and left alone) and stop it afterwards, whatever
# the outcome (engine.sh stops only an engine it started itself).
if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
    trap 'bash scripts/engine.sh stop' EXIT
    bash scripts/engine.sh start
fi
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
