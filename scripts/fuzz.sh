#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (with AddressSanitizer) and runs each for a bounded time
# from its seed corpus. Exits non-zero on the first crash, leak, timeout or out-of-memory input,
# naming the reproducer it wrote.
#
#   scripts/fuzz.sh                      # every target, 60 s each
#   FUZZ_SECONDS=10 scripts/fuzz.sh      # shorter runs (CI)
#   scripts/fuzz.sh FuzzRecordBatch      # some targets only
#   scripts/fuzz.sh --reproduce FuzzRecordBatch crash-file   # run one input once
#
# New inputs the fuzzer finds go to Fuzz/.build/corpus/<target>, never into the committed seeds;
# reproducers to Fuzz/.build/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SECONDS_EACH=${FUZZ_SECONDS:-60}
ALL_TARGETS=(FuzzPipelineConfig FuzzFraming FuzzRecordBatch FuzzResponses)

# Longest input per target: a few times the largest seed, enough for several frames, batches or
# YAML documents, small enough that each run stays in the fast path of the decoders.
max_len() {
  case "$1" in
    FuzzPipelineConfig) echo 8192 ;;
    FuzzFraming) echo 4096 ;;
    FuzzRecordBatch) echo 8192 ;;
    FuzzResponses) echo 4096 ;;
    *) echo "unknown fuzz target $1" >&2; exit 2 ;;
  esac
}

build() {
  echo "== building the fuzz targets (-sanitize=fuzzer,address)"
  local started=$SECONDS
  (cd Fuzz && $SWIFT build -j "${FUZZ_BUILD_JOBS:-1}" -Xswiftc -sanitize=fuzzer,address)
  echo "== built in $((SECONDS - started)) s"
}

binary() { echo "Fuzz/.build/debug/$1"; }

if [ "${1:-}" = "--reproduce" ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --reproduce TARGET INPUT" >&2; exit 2; }
  build
  exec "$(binary "$2")" -runs=1 "$3"
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
build

failed=()
for target in "${targets[@]}"; do
  work=Fuzz/.build/corpus/$target
  artifacts=Fuzz/.build/artifacts/$target/
  mkdir -p "$work" "$artifacts"
  log=Fuzz/.build/$target.log
  echo "== $target: ${SECONDS_EACH} s, -max_len=$(max_len "$target")"
  # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: one that needs 2 GB is a bug too.
  if "$(binary "$target")" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$target")" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
      "$work" "Fuzz/Corpus/$target" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "   ok: ${runs:-?} executions, $(find "$work" -type f | wc -l) inputs in the working corpus"
  else
    echo "   FAILED (log: $log); last lines:"
    tail -n 40 "$log" | sed 's/^/   | /'
    ls "$artifacts" | sed "s|^|   reproducer: $artifacts|"
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran ${SECONDS_EACH} s without a failure"
