#!/usr/bin/env bash
# End-to-end produce benchmark: `tributary produce` against `kcat -P` on librdkafka's mock
# cluster. Installs kcat if missing, bootstraps the Python environment, builds the release
# binary into .build-bench (its own scratch path, so it does not contend for .build's lock)
# and runs scripts/bench_produce.py with the given arguments, e.g.
#   scripts/bench-produce.sh --records 2000000 --repeat 3
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kcat >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "bench-produce: installing kcat"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kcat
fi

bash scripts/bootstrap.sh

echo "bench-produce: building the release binary (.build-bench)"
swift build -c release --product tributary --scratch-path .build-bench

# scripts/bench-agent.sh sets BENCH_SCRIPT to run its own driver after the same setup.
exec .venv/bin/python "${BENCH_SCRIPT:-scripts/bench_produce.py}" "$@"
