#!/usr/bin/env bash
# npm run bench measures the libraries a user would pick instead. They live in bench/peers/, with a package.json
# and lockfile of their own, so that installing rnn-wasm stays lean; this installs them the first time (from the
# npm registry, with their install scripts left off). Without them the benchmark still runs and says what is missing.
set -uo pipefail
cd "$(dirname "$0")/../bench/peers"
[ -d node_modules ] && exit 0
echo "ensure-bench-peers: installing onnxruntime-web, tfjs and brain.js into bench/peers (once, about 340 MB)" >&2
npm ci --no-audit --no-fund --ignore-scripts >&2 \
  || echo "ensure-bench-peers: could not install the peers; the benchmark will run without them" >&2
exit 0
