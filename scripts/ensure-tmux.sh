#!/usr/bin/env bash
# The command line's terminal test (test/cli-tty.test.ts) runs rnn-wasm in a real pseudo-terminal under tmux.
# Installs Debian's `tmux` package when it is missing (as root, or through passwordless sudo).
set -euo pipefail
command -v tmux >/dev/null && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "ensure-tmux: tmux is missing and this user cannot install it; run: sudo apt-get install -y tmux" >&2
  exit 1
fi
echo "ensure-tmux: installing Debian's tmux (needed by test/cli-tty.test.ts)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq tmux >/dev/null
command -v tmux >/dev/null || { echo "ensure-tmux: apt-get finished but tmux is still missing" >&2; exit 1; }
