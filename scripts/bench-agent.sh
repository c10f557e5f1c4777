#!/usr/bin/env bash
# The agent against librdkafka: `tributary run` tailing a file and `tributary produce` on stdin,
# each beside kcat. Installs kcat if missing, bootstraps the Python environment, builds the
# release binary into .build-bench (its own scratch path, so it does not contend for .build's
# lock) and runs scripts/bench_agent.py with the given arguments, e.g.
#   scripts/bench-agent.sh --codecs lz4 --acks 1 --repeat 3
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kcat >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "bench-agent: installing kcat"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kcat
fi

bash scripts/bootstrap.sh

echo "bench-agent: building the release binary (.build-bench)"
swift build -c release --product tributary --scratch-path .build-bench

exec .venv/bin/python scripts/bench_agent.py "$@"
