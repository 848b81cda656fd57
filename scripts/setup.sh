#!/usr/bin/env bash
# Install everything Synthetic and its tests need into ./.venv, then run the
# main job: `synthetic demo`, the whole flow on a built-in example repository
# with the offline model. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v git >/dev/null 2>&1 || need_apt+=(git)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv python3-pip)
# The real VS Code test (tests/vscode): Chromium for Playwright, and ripgrep,
# which code-server uses instead of the binary its install would download.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
# ... and a compiler for code-server's native modules (built against the local Node).
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
# The shells whose completion the tests load (tests/integration/test_completion.py).
command -v zsh >/dev/null 2>&1 || need_apt+=(zsh)
command -v fish >/dev/null 2>&1 || need_apt+=(fish)
# A Docker engine and its clients for the docker and compose services tests
# (scripts/engine.sh starts it; tests/integration/test_docker_services.py
# builds its image from busybox-static, with no registry), and bubblewrap for
# sandboxed services.
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
# (the static one: the image holds nothing but it, no libc)
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
# A real SSH server for the remote-host tests (tests/remote starts its own sshd
# on 127.0.0.1 with its own config; the system service is not used).
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" = 0 ]; then
        # Another job (unattended-upgrades, a parallel set-up) may hold apt's
        # locks: wait for them instead of failing with exit 100. Install
        # waits through DPkg::Lock::Timeout; update does not honour it, so
        # it is tried again while the lists lock is what stops it.
        for _ in $(seq 1 120); do
            if out=$(apt-get update -qq 2>&1); then break; fi
            if ! grep -q "Could not get lock" <<<"$out"; then echo "$out" >&2; exit 1; fi
            echo "setup: waiting for another apt to finish" >&2
            sleep 5
        done
        if [[ " ${need_apt[*]} " == *" openssh-server "* ]] && [ -d /run/systemd/system ]; then
            # Installing openssh-server would start the system's sshd on port 22;
            # the tests need only the binary. `systemctl unmask ssh.service
            # ssh.socket` undoes this if you want the service.
            echo "setup: openssh-server is installed for the tests with its service masked" >&2
            systemctl mask ssh.service ssh.socket >/dev/null 2>&1 || true
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
            "${need_apt[@]}"
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

# OpenCode, pinned, into ./.tools for the integration tests (tests/opencode
# find it there). Its postinstall writes under HOME, so HOME and XDG_* point at
# a throw-away folder while it installs and while its version is checked.
OPENCODE_VERSION=1.18.33
opencode_bin=.tools/node_modules/.bin/opencode
if command -v npm >/dev/null 2>&1; then
    scratch_home=$(mktemp -d)
    trap 'rm -rf "$scratch_home"' EXIT
    with_scratch_home() {
        HOME=$scratch_home XDG_CONFIG_HOME=$scratch_home/.config \
            XDG_DATA_HOME=$scratch_home/.local/share XDG_CACHE_HOME=$scratch_home/.cache \
            XDG_STATE_HOME=$scratch_home/.local/state npm_config_cache=$scratch_home/.npm \
            OPENCODE_DISABLE_MODELS_FETCH=1 "$@"
    }
    installed=$(with_scratch_home "$opencode_bin" --version 2>/dev/null || true)
    if [ "$installed" != "$OPENCODE_VERSION" ]; then
        mkdir -p .tools
        with_scratch_home npm install --prefix .tools --no-save --no-audit --no-fund \
            --loglevel=error "opencode-ai@$OPENCODE_VERSION"
        installed=$(with_scratch_home "$opencode_bin" --version)
    fi
    echo "opencode $installed in $opencode_bin"

    # The VS Code extension: its dependencies (exact, from package-lock.json;
    # again only when the lock file changed), then the .vsix
    # (vscode-extension/synthetic.vsix) that tests/vscode installs.
    (
        cd vscode-extension
        stamp=node_modules/.synthetic-lock
        if ! cmp -s package-lock.json "$stamp"; then
            with_scratch_home npm ci --no-audit --no-fund --loglevel=error
            cp package-lock.json "$stamp"
        fi
        with_scratch_home npm run --silent package >/dev/null
    )
    echo "VS Code extension in vscode-extension/synthetic.vsix"
    # code-server, pinned, into .tools/code-server (a real VS Code for tests/vscode).
    bash scripts/install-code-server.sh
else
    echo "setup: npm not found: OpenCode, the VS Code extension and code-server are not installed" >&2
fi

if [ -x "$opencode_bin" ]; then
    # The main job: the whole flow on the built-in example, with the offline
    # model (a construct with a worktree, a dev service and an agent session,
    # prompted, then removed), in a temporary folder it deletes.
    echo "== synthetic demo (built-in example, offline model) =="
    .venv/bin/synthetic demo
else
    echo "== synthetic config check (built-in example; OpenCode missing, so no demo) =="
    example="synthetic_ls/examples/demo"
    set +e
    .venv/bin/synthetic config check "$example/synthetic.config.ts"
    code=$?
    set -e
    echo "(exit code $code; the example has deliberate mistakes so that diagnostics show)"
fi
