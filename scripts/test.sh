#!/usr/bin/env bash
# Builds everything once (debug, with tests), fails on compiler warnings in the project's own code,
# then runs every suite in one `swift test` process.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build
log=.build/build-output.txt
set +e
swift build --build-tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || exit "$status"
root=$(pwd)
if grep -E "^$root/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" "$log" | sort -u | grep .; then
  echo "error: the build has warnings in the project's own code (above)" >&2
  exit 1
fi
bin=$(swift build --show-bin-path)
export SHARECAST_BIN="$bin/sharecast"
swift test --skip-build "$@"
