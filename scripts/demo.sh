#!/usr/bin/env bash
# The quickest look at the engine: build tributary, start a local 3-broker test cluster
# (librdkafka's mock), pipe a few records through `tributary produce`, and show where each
# landed. Run it as `make demo` (which installs what is missing first).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

swift build --product tributary >/dev/null
tributary="$(swift build --show-bin-path)/tributary"

log="$(mktemp)"
scripts/test-cluster --brokers 3 --topic demo:3 >"$log" 2>/dev/null &
cluster=$!
trap 'kill $cluster 2>/dev/null; wait $cluster 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q '^bootstrap:' "$log" && break
  sleep 0.1
done
brokers="$(sed -n 's/^bootstrap: //p' "$log")"
[ -n "$brokers" ] || { echo "demo: the test cluster did not start" >&2; exit 1; }
echo "test cluster: $brokers (topic demo, 3 partitions)"
echo

# key:value lines; the same key always lands on the same partition (Java's murmur2).
printf '%s\n' \
  'user-17:GET /cart 200' \
  'user-42:POST /checkout 201' \
  'user-17:GET /cart/items 200' \
  'user-99:GET / 304' \
  'user-42:GET /orders 200' \
  | "$tributary" produce --brokers "$brokers" --topic demo --key-delimiter : --report \
      -X compression.type=lz4 -X linger.ms=10
