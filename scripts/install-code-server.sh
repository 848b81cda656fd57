#!/usr/bin/env bash
# code-server (VS Code in the browser), pinned, into .tools/code-server for the
# real VS Code test (tests/vscode). 4.100.3 is the newest release that runs on
# Node 20. Its npm install would download ripgrep and Node headers, which this
# machine cannot: install without scripts, then do what its postinstall does
# with Debian's rg (apt: ripgrep) and the Node headers in /usr/include/node.
# Safe to run again: does nothing when the pinned version answers.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
prefix=.tools/code-server
bin=$prefix/node_modules/.bin/code-server
scratch_home=$(mktemp -d)
trap 'rm -rf "$scratch_home"' EXIT
with_scratch_home() {
    HOME=$scratch_home XDG_CONFIG_HOME=$scratch_home/.config XDG_DATA_HOME=$scratch_home/.local/share \
        XDG_CACHE_HOME=$scratch_home/.cache npm_config_cache=$scratch_home/.npm \
        npm_config_nodedir=/usr "$@"
}

installed=$(with_scratch_home "$bin" --version 2>/dev/null | grep -Eo '^[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)
if [ "$installed" = "$CODE_SERVER_VERSION" ]; then
    echo "code-server $installed in $bin"
    exit 0
fi
command -v rg >/dev/null || { echo "install-code-server: needs rg (apt-get install ripgrep)" >&2; exit 1; }
[ -f /usr/include/node/node.h ] || { echo "install-code-server: needs the Node headers in /usr/include/node (apt-get install libnode-dev, or Node's own package)" >&2; exit 1; }

rm -rf "$prefix"
mkdir -p "$prefix"
npm_quiet=(--no-audit --no-fund --loglevel=error --ignore-scripts)
with_scratch_home npm install --prefix "$prefix" --no-save "${npm_quiet[@]}" "code-server@$CODE_SERVER_VERSION"
# Its password hashing (argon2) is native: build it against the local headers.
(cd "$prefix" && with_scratch_home npm rebuild argon2 --build-from-source --loglevel=error)

# code-server's postinstall, by hand: VS Code's own dependencies, ...
vscode=$prefix/node_modules/code-server/lib/vscode
(cd "$vscode" && with_scratch_home npm install --omit=dev "${npm_quiet[@]}")
# ... ripgrep from Debian instead of a download, ...
mkdir -p "$vscode/node_modules/@vscode/ripgrep/bin"
ln -sf "$(command -v rg)" "$vscode/node_modules/@vscode/ripgrep/bin/rg"
# ... the native modules it needs on Linux (kerberos, for proxy auth, is optional), ...
(cd "$vscode" && with_scratch_home npm rebuild @parcel/watcher @vscode/spdlog native-watchdog node-pty --loglevel=error)
# ... and the links and the built-in extensions' dependencies.
ln -sfn node_modules "$vscode/node_modules.asar"
(cd "$vscode/bin/remote-cli" && ln -sf code-linux.sh code-server)
(cd "$vscode/bin/helpers" && ln -sf browser-linux.sh browser.sh)
(cd "$vscode/extensions" && with_scratch_home npm install --omit=dev "${npm_quiet[@]}" && node postinstall.mjs >/dev/null)

installed=$(with_scratch_home "$bin" --version | grep -Eo '^[0-9]+\.[0-9]+\.[0-9]+' | head -1)
echo "code-server $installed in $bin"
