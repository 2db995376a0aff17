#!/usr/bin/env bash
# The browser tests' Chromium (`npm test`'s pretest): $CHROMIUM_PATH, by default /usr/bin/chromium, which is
# Debian's package and is installed through scripts/ensure-debian-package.sh where apt-get can do it. Nothing is
# downloaded otherwise: where there is no Chromium, this says how to get one and fails.
#   usage: [CHROMIUM_PATH=/path/to/chromium] ensure-chromium.sh
set -euo pipefail
here=$(dirname "$0")
path=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$path" ] && [ -f "$path" ] && exit 0

how_to_get_one() {
  cat >&2 <<HELP
ensure-chromium: the browser tests need Chromium (or Chrome), and $path is not there. Either
  - install one: Debian \`sudo apt-get install chromium\`, Ubuntu \`sudo snap install chromium\`,
    Fedora \`sudo dnf install chromium\`, macOS \`brew install --cask chromium\`;
  - or point CHROMIUM_PATH at one you have, e.g.
      CHROMIUM_PATH=/snap/bin/chromium npm test
      CHROMIUM_PATH="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" npm test
The tests drive it with playwright-core, which downloads no browser of its own.
HELP
  exit 1
}

# A path of the user's own is never replaced by an installation somewhere else.
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "ensure-chromium: CHROMIUM_PATH is '$CHROMIUM_PATH', which is not an executable file" >&2
  how_to_get_one
fi
if command -v apt-get >/dev/null; then
  bash "$here/ensure-debian-package.sh" /usr/bin/chromium chromium "the browser tests" || how_to_get_one
  exit 0
fi
how_to_get_one
