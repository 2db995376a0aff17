#!/usr/bin/env bash
# Tests that need a program from Debian (Chromium for the browser tests, tmux for the terminal test) call this
# instead of downloading anything of their own: it installs the package when the program is missing, as root
# or through passwordless sudo.
#   usage: ensure-debian-package.sh <program name or path> <package> <what needs it>
set -euo pipefail
program=$1 package=$2 why=$3
command -v "$program" >/dev/null && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "ensure-debian-package: $program is missing and this user cannot install it; run: sudo apt-get install -y $package" >&2
  exit 1
fi
echo "ensure-debian-package: installing Debian's $package (needed by $why)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq "$package" >/dev/null
command -v "$program" >/dev/null || { echo "ensure-debian-package: apt-get finished but $program is still missing" >&2; exit 1; }
