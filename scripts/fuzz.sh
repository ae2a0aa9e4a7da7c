#!/usr/bin/env bash
# Builds sharecast-fuzz with libFuzzer and AddressSanitizer (.build-fuzz) and fuzzes each target
# for FUZZ_SECONDS (default 60), or only those named: scripts/fuzz.sh m3u hls.
# New inputs go to .build-fuzz/corpus/<target> (the committed seeds in Fuzz/corpus are read, not
# written); a crash leaves its input in .build-fuzz/crashes/<target>-... and fails the run. Add a
# crash input to Fuzz/corpus/<target> with the fix, so `make test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
flags=(--scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DSHARECAST_FUZZER)
swift build --product sharecast-fuzz "${flags[@]}"
bin="$(swift build "${flags[@]}" --show-bin-path)/sharecast-fuzz"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(ls Fuzz/corpus))
fi
mkdir -p .build-fuzz/crashes
status=0
for target in "${targets[@]}"; do
  mkdir -p ".build-fuzz/corpus/$target"
  log=".build-fuzz/$target.log"
  echo "fuzzing $target for ${seconds}s"
  if ! FUZZ_TARGET="$target" "$bin" ".build-fuzz/corpus/$target" "Fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix=".build-fuzz/crashes/$target-" > "$log" 2>&1; then
    echo "  FAILED: see $log and .build-fuzz/crashes/"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$log" | sed "s/^/  /" || true
done
exit $status
