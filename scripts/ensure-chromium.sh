#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through playwright-core; no test tool downloads a browser of its
# own. Installs the `chromium` package when it is missing (as root, or through passwordless sudo).
set -euo pipefail
chromium=/usr/bin/chromium
[ -x "$chromium" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "ensure-chromium: $chromium is missing and this user cannot install it; run: sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium (needed by test/browser.test.ts and test/package.test.ts)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq chromium >/dev/null
[ -x "$chromium" ] || { echo "ensure-chromium: apt-get finished but $chromium is still missing" >&2; exit 1; }
