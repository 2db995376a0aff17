#!/usr/bin/env bash
# Refreshes test/fixtures/{torch,torch-training,models-shared,tfjs-shared}/, this repository's copies of the shared
# reference cases, from ../shared/fixtures/{torch,torch-training,models,tfjs}/ (SHARED_FIXTURES names another folder).
# Data only: each case's .json, .safetensors and .onnx (a tfjs case: its folder's model.json, weights.bin and
# case.json), byte for byte; the shared generators and READMEs stay there.
# test/fixtures/models/ (this repository's own cases, made by scripts/gen-model-cases.py) is not touched.
#   usage: [SHARED_FIXTURES=dir] scripts/copy-fixtures.sh           # copy
#          [SHARED_FIXTURES=dir] scripts/copy-fixtures.sh --check   # say whether the copies are current; exit 1 if not
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_FIXTURES:-$root/../shared/fixtures}
check=${1:-}
[ -d "$shared" ] || { echo "copy-fixtures: $shared is not a folder (set SHARED_FIXTURES)" >&2; exit 1; }

stale=0
# shared folder -> folder under test/fixtures/
for pair in torch:torch torch-training:torch-training models:models-shared; do
  from=$shared/${pair%%:*}
  to=$root/test/fixtures/${pair##*:}
  files=$(cd "$from" && ls -- *.json *.safetensors *.onnx 2>/dev/null | sort || true)
  [ -n "$files" ] || { echo "copy-fixtures: no case files in $from" >&2; exit 1; }
  if [ "$check" = --check ]; then
    present=$( (cd "$to" 2>/dev/null && ls -- *.json *.safetensors *.onnx 2>/dev/null | sort) || true)
    if [ "$files" != "$present" ]; then
      echo "copy-fixtures: test/fixtures/${pair##*:} does not hold the same files as $from" >&2
      stale=1
      continue
    fi
    for f in $files; do
      cmp -s "$from/$f" "$to/$f" || { echo "copy-fixtures: test/fixtures/${pair##*:}/$f differs from $from/$f" >&2; stale=1; }
    done
  else
    rm -rf "$to"
    mkdir -p "$to"
    for f in $files; do cp "$from/$f" "$to/$f"; done
    chmod 644 "$to"/*  # the shared folder is read-only; the copies are ordinary files of the repository
    echo "copy-fixtures: $(echo "$files" | wc -l) files from $from into test/fixtures/${pair##*:}"
  fi
done

# The TensorFlow.js cases are folders of three files each.
from=$shared/tfjs
to=$root/test/fixtures/tfjs-shared
cases=$(cd "$from" && for d in */; do [ -f "$d/case.json" ] && echo "${d%/}"; done | sort)
[ -n "$cases" ] || { echo "copy-fixtures: no case folders in $from" >&2; exit 1; }
if [ "$check" = --check ]; then
  present=$( (cd "$to" 2>/dev/null && for d in */; do echo "${d%/}"; done | sort) || true)
  [ "$cases" = "$present" ] || { echo "copy-fixtures: test/fixtures/tfjs-shared does not hold the same cases as $from" >&2; stale=1; }
  for c in $cases; do
    for f in model.json weights.bin case.json; do
      cmp -s "$from/$c/$f" "$to/$c/$f" || { echo "copy-fixtures: test/fixtures/tfjs-shared/$c/$f differs from $from/$c/$f" >&2; stale=1; }
    done
  done
else
  rm -rf "$to"
  for c in $cases; do
    mkdir -p "$to/$c"
    for f in model.json weights.bin case.json; do cp "$from/$c/$f" "$to/$c/$f"; done
    chmod 644 "$to/$c"/*
  done
  echo "copy-fixtures: $(echo "$cases" | wc -l) tfjs cases from $from into test/fixtures/tfjs-shared"
fi
exit $stale
