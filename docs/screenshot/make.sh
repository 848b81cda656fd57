#!/usr/bin/env bash
# Make docs/nvim-diagnostics.png: Neovim in tmux on a copy of the built-in
# example, diagnostics from synthetic-ls, captured with `tmux capture-pane -e`
# and rendered by ansi_to_png.py (needs tmux, Pillow, fonts-dejavu-core).
#   PYTHON=/path/to/python-with-pillow bash docs/screenshot/make.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
project="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'tmux -L synthetic-shot kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

cp -r "$project/synthetic_ls/examples/demo" "$work/demo"
git -C "$work/demo" init -q -b main
git -C "$work/demo" -c user.name=demo -c user.email=demo@example.invalid commit -q --allow-empty -m init

cols=120 rows=34
tmux -L synthetic-shot -f /dev/null new-session -d -s shot -x "$cols" -y "$rows" \
    -e TERM=tmux-256color -e COLORTERM=truecolor \
    -e SYNTHETIC_NVIM_PLUGIN="$project/nvim" \
    -e SYNTHETIC_LS_CMD="[\"$(command -v python)\", \"-m\", \"synthetic_ls.lsp\"]" \
    -e PYTHONPATH="$project" \
    -c "$work/demo" \
    "nvim --clean -u $here/init.lua synthetic.config.ts"
tmux -L synthetic-shot set -g default-terminal tmux-256color
tmux -L synthetic-shot set -ga terminal-overrides ",*:RGB"
sleep 4   # the server starts and publishes the diagnostics
# Scroll to the templates, cursor on the first mistake, its float open (F2 in init.lua).
tmux -L synthetic-shot send-keys -t shot F2
sleep 1.5
tmux -L synthetic-shot capture-pane -t shot -e -p > "$work/pane.ansi"
"$python" "$here/ansi_to_png.py" "$work/pane.ansi" "$project/docs/nvim-diagnostics.png" \
    --cols "$cols" --rows "$rows"
echo "wrote $project/docs/nvim-diagnostics.png"
