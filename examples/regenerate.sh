#!/usr/bin/env bash
# Regenerate the precomputed stackwalker outputs of the sample crashes.
#
# Every minidump in examples/crashes/*/ (files named upload_file_minidump*) gets a sibling
# <dump name>.json: the compact JSON of rust-minidump's minidump-stackwalk 0.25.0 (the peer),
# run with the local symbols of ../shared/testdata and the crash's raw_crash.json as
# --evil-json, the way Socorro's processor passes the raw crash. The outputs are committed so
# the demo and tests can use them without the peer; this script documents how they were made.
#
# Run examples/build_samples.py first if the raw crashes or dumps changed.
#
# usage: bash examples/regenerate.sh   (from anywhere; works relative to the repository root)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
symbols=../shared/testdata/symbols
stackwalk=$(bash ../shared/tools/fetch-minidump-stackwalk .cache/peers)
"$stackwalk" --version

for crash_dir in examples/crashes/*/; do
  for dump in "$crash_dir"upload_file_minidump*; do
    [[ -f $dump && $dump != *.json ]] || continue
    out=$dump.json
    "$stackwalk" --json "$dump" "$symbols" --evil-json "${crash_dir}raw_crash.json" \
      --no-color --verbose=error --output-file "$out.tmp"
    mv "$out.tmp" "$out"
    echo "$out"
  done
done
