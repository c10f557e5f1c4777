#!/usr/bin/env bash
# The agent end to end: build tributary, start a local 3-broker test cluster (librdkafka's
# mock), run `tributary run` on scripts/demo/pipeline.yaml — an access log file, an application
# socket and stdin into two topics with different settings — then stop it with SIGTERM and show
# what was delivered where. Run it as `make demo` (which installs what is missing first).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

swift build --product tributary >/dev/null
tributary="$(swift build --show-bin-path)/tributary"
python="$root/.venv/bin/python"

DEMO_DIR="$(mktemp -d /tmp/tributary-demo.XXXXXX)"
export DEMO_DIR
log="$DEMO_DIR/cluster.log"
scripts/test-cluster --brokers 3 --topic web-access:3 --topic app-events:3 >"$log" 2>/dev/null &
cluster=$!
agent=""
cleanup() {
  [ -n "$agent" ] && kill "$agent" 2>/dev/null || true
  kill "$cluster" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DEMO_DIR"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  grep -q '^bootstrap:' "$log" && break
  sleep 0.1
done
DEMO_BROKERS="$(sed -n 's/^bootstrap: //p' "$log")"
export DEMO_BROKERS
[ -n "$DEMO_BROKERS" ] || { echo "demo: the test cluster did not start" >&2; exit 1; }
echo "test cluster: $DEMO_BROKERS"

mkdir -p "$DEMO_DIR/logs"
cat >"$DEMO_DIR/logs/access.log" <<'LOG'
10.0.0.1 - - [02/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 512
10.0.0.2 - - [02/Dec/2026:10:00:02 +0000] "GET /cart HTTP/1.1" 200 1024
10.0.0.9 - - [02/Dec/2026:10:00:02 +0000] "GET /healthz HTTP/1.1" 200 2
10.0.0.1 - - [02/Dec/2026:10:00:03 +0000] "POST /checkout HTTP/1.1" 201 64
LOG
echo gzipped >"$DEMO_DIR/logs/access.log.1.gz"

"$tributary" validate --config scripts/demo/pipeline.yaml
echo

# stdin: two JSON lines now, then held open until the agent is stopped.
fifo="$DEMO_DIR/stdin"
mkfifo "$fifo"
"$tributary" run --config scripts/demo/pipeline.yaml --log-level warning <"$fifo" &
agent=$!
exec 3>"$fifo"
printf '%s\n' '{"user":{"id":"u-17"},"event":"login"}' '{"event":"heartbeat"}' >&3

for _ in $(seq 1 100); do
  [ -S "$DEMO_DIR/app.sock" ] && break
  sleep 0.1
done
"$python" - "$DEMO_DIR/app.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"user":{"id":"u-42"},"event":"add_to_cart"}\n{"user":{"id":"u-17"},"event":"checkout"}\n')
s.close()
PY
echo '10.0.0.2 - - [02/Dec/2026:10:00:04 +0000] "GET /orders HTTP/1.1" 200 256' >>"$DEMO_DIR/logs/access.log"

sleep 2
kill -TERM "$agent"
wait "$agent"
agent=""
exec 3>&-
echo "agent stopped (SIGTERM): every record read was delivered"
echo
"$python" scripts/demo_show.py "$DEMO_BROKERS" web-access app-events
