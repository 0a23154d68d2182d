#!/usr/bin/env bash
# Regenerate the one precomputed stackwalker output among the sample crashes.
#
# The samples are walked live by the processor's stackwalker; only no-debug-id/ keeps a stored
# output, to show a stored output whose module lacks a debug id being symbolicated by
# code-info lookup. It is the compact JSON of rust-minidump's minidump-stackwalk 0.25.0 (the
# peer), run with the plain symbols of tests/data (no code ids, so test_app.exe stays
# unsymbolicated) and the crash's raw_crash.json as --evil-json, the way Socorro's processor
# passes the raw crash.
#
# Run examples/build_samples.py first if the raw crashes or dumps changed.
#
# usage: bash examples/regenerate.sh   (from anywhere; works relative to the repository root)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
symbols=tests/data/symbols
stackwalk=$(bash tools/fetch-minidump-stackwalk .cache/peers)
"$stackwalk" --version

for crash_dir in examples/crashes/no-debug-id/; do
  for dump in "$crash_dir"upload_file_minidump*; do
    [[ -f $dump && $dump != *.json ]] || continue
    out=$dump.json
    "$stackwalk" --json "$dump" "$symbols" --evil-json "${crash_dir}raw_crash.json" \
      --no-color --verbose=error --output-file "$out.tmp"
    mv "$out.tmp" "$out"
    echo "$out"
  done
done
