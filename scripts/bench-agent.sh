#!/usr/bin/env bash
# The agent against librdkafka: `tributary run` tailing a file and `tributary produce` on stdin,
# each beside kcat. The same setup as scripts/bench-produce.sh (kcat, bootstrap, the release
# binary in .build-bench), then scripts/bench_agent.py with the given arguments, e.g.
#   scripts/bench-agent.sh --codecs lz4 --acks 1 --repeat 3
set -euo pipefail
BENCH_SCRIPT=scripts/bench_agent.py exec bash "$(dirname "$0")/bench-produce.sh" "$@"
