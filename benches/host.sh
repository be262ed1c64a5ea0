#!/usr/bin/env bash
# Host benchmarks: start-up to the first 200 (cold and warm compile cache), time per request
# for a no-op component against the host's own endpoint, and resident memory when idle.
# Method and recorded results: benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-5}"
PORT="${PORT:-3901}"
DURATION="${DURATION:-10s}"
WORK="$(mktemp -d)"
trap 'kill "${HOST_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release -p prompt-mesh >/dev/null 2>&1
env -u CARGO_TARGET_DIR cargo build --release --target wasm32-wasip2 \
  --manifest-path host/tests/fixtures/Cargo.toml -p fixture_http >/dev/null 2>&1
BIN="${CARGO_TARGET_DIR:-target}/release/prompt-mesh"
WASM="$PWD/host/tests/fixtures/target/wasm32-wasip2/release/fixture_http.wasm"

cat >"$WORK/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "$WASM"
TOML

now_ns() { date +%s%N; }

start_host() {
  "$BIN" up --manifest "$WORK/spin.toml" --listen "127.0.0.1:$PORT" \
    --data-dir "$WORK/data" --cache-dir "$WORK/cache" >"$WORK/out" 2>"$WORK/err" &
  HOST_PID=$!
}

stop_host() {
  kill "$HOST_PID" && wait "$HOST_PID" 2>/dev/null || true
}

# Sets ELAPSED_MS to the milliseconds from exec to the first 200 of the component.
time_first_200() {
  local t0 t1
  t0=$(now_ns)
  start_host
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/noop"; do sleep 0.005; done
  t1=$(now_ns)
  ELAPSED_MS=$(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(uname -r); runs: $RUNS"
cold=(); warm=()
for _ in $(seq "$RUNS"); do
  rm -rf "$WORK/cache"
  time_first_200; cold+=("$ELAPSED_MS"); stop_host
  time_first_200; warm+=("$ELAPSED_MS"); stop_host
done
echo "start to first 200, cold cache (ms): ${cold[*]} median $(printf '%s\n' "${cold[@]}" | median)"
echo "start to first 200, warm cache (ms): ${warm[*]} median $(printf '%s\n' "${warm[@]}" | median)"

start_host
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/noop"; do sleep 0.005; done
sleep 2
echo "idle resident memory (KiB): $(awk '/VmRSS/ {print $2}' /proc/$HOST_PID/status)"

for connections in 1 8; do
  for target in /.well-known/prompt-mesh/health /noop; do
    echo "wrk -t1 -c$connections -d$DURATION $target"
    wrk -t1 -c"$connections" -d"$DURATION" --latency "http://127.0.0.1:$PORT$target" |
      grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
  done
done
echo "resident memory after load (KiB): $(awk '/VmRSS/ {print $2}' /proc/$HOST_PID/status)"
stop_host
