#!/usr/bin/env bash
# Runner quickstart on a fresh Debian machine with the .NET SDK:
#   1. installs nats-server and gcc if missing (apt; sudo when not root),
#   2. starts a local nats-server with JetStream on 127.0.0.1 (store under ./.runner/nats),
#   3. builds and starts one Runner node with the sample `order` saga (data under ./.runner/data),
#   4. runs the sample feeder (src/Runner.Sagas.Samples.Feeder): it publishes sample events for tenant `acme` and
#      prints the commands that come out,
#   5. replays the tenant's order saga with runnerctl through the node's admin endpoint: a dry run of a full_reset,
#      then a real checkpoint_only replay, which must re-emit nothing,
#   6. stops the node (SIGTERM) and nats-server, and exits 0 when every expected command arrived and the replay
#      re-emitted nothing.
# --keep-running leaves the node and nats-server running until Ctrl-C instead of step 6.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
STATE="$ROOT/.runner"
KEEP=0
[ "${1:-}" = "--keep-running" ] && KEEP=1

need=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  echo "quickstart: installing ${need[*]}"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
NATS_BIN="$(command -v nats-server || echo /usr/sbin/nats-server)"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { local p; for _ in $(seq 1 50); do p=$((20000 + RANDOM % 30000)); port_free "$p" && { echo "$p"; return; }; done; echo "no free port" >&2; exit 1; }
NATS_PORT="${RUNNER_QUICKSTART_NATS_PORT:-4222}"
port_free "$NATS_PORT" || NATS_PORT="$(pick_port)"
NODE_PORT="$(pick_port)"
ADMIN_PORT="$(pick_port)"

mkdir -p "$STATE"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "quickstart: nats-server on 127.0.0.1:$NATS_PORT (log $STATE/nats.log)"
"$NATS_BIN" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$STATE/nats" >"$STATE/nats.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "Server is ready" "$STATE/nats.log" 2>/dev/null && break; sleep 0.1; done
grep -q "Server is ready" "$STATE/nats.log" || { echo "nats-server did not start:"; cat "$STATE/nats.log"; exit 1; }

echo "quickstart: building the node, runnerctl and the sample feeder"
: >"$STATE/build.log"
for project in src/Runner.Host src/Runner.Ctl src/Runner.Sagas.Samples.Feeder; do
  dotnet build "$project" -c Release -v quiet -nologo >>"$STATE/build.log" 2>&1 || { cat "$STATE/build.log"; exit 1; }
done
HOST_DLL="$ROOT/src/Runner.Host/bin/Release/net10.0/Runner.Host.dll"
CTL_DLL="$ROOT/src/Runner.Ctl/bin/Release/net10.0/runnerctl.dll"
FEEDER_DLL="$ROOT/src/Runner.Sagas.Samples.Feeder/bin/Release/net10.0/Runner.Sagas.Samples.Feeder.dll"

cat >"$STATE/quickstart.conf" <<'CONF'
# Quickstart overrides: a short payment timeout so the timeout path shows within the demo.
runner.samples.order.payment-timeout = 5s
runner.runtime.timer-tick = 200ms
CONF

export RUNNER_NATS_URL="nats://127.0.0.1:$NATS_PORT"
echo "quickstart: node on 127.0.0.1:$NODE_PORT, admin endpoint on 127.0.0.1:$ADMIN_PORT (log $STATE/node.log)"
RUNNER_DATA_DIR="$STATE/data" RUNNER_CONFIG="$STATE/quickstart.conf" RUNNER_PORT="$NODE_PORT" RUNNER_ADMIN_PORT="$ADMIN_PORT" RUNNER_SHARD_ID=quickstart \
  dotnet "$HOST_DLL" >"$STATE/node.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q "Runner node quickstart started" "$STATE/node.log" 2>/dev/null && break; kill -0 "${PIDS[1]}" 2>/dev/null || break; sleep 0.1; done
grep -q "Runner node quickstart started" "$STATE/node.log" || { echo "the node did not start:"; tail -50 "$STATE/node.log"; exit 1; }

set +e
dotnet "$FEEDER_DLL" --tenant acme --timeout 60
rc=$?
set -e
if [ "$rc" = 0 ]; then
  ctl() { dotnet "$CTL_DLL" "127.0.0.1:$ADMIN_PORT" "$@"; }
  echo "quickstart: runnerctl 127.0.0.1:$ADMIN_PORT runner replay -t acme -s order -m full_reset --dry-run (changes nothing)"
  ctl runner replay -t acme -s order -m full_reset --dry-run || rc=1
fi
if [ "$rc" = 0 ]; then
  echo "quickstart: runnerctl 127.0.0.1:$ADMIN_PORT runner replay -t acme -s order -m checkpoint_only"
  ctl runner replay -t acme -s order -m checkpoint_only --json >"$STATE/replay.json" || rc=1
  counts="$(grep -o '"counts":{[^}]*}' "$STATE/replay.json" | head -n1 || true)"
  count() { printf '%s' "$counts" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
  echo "quickstart: the checkpoint_only replay of acme/order: $(count events) event(s), $(count applied) applied, $(count duplicates) suppressed by dedupe; $(count commands) command(s) re-emitted"
  if [ "$(count applied)" != 0 ] || [ "$(count commands)" != 0 ]; then
    echo "quickstart: the checkpoint_only replay applied events again: every one of them should have been suppressed (see $STATE/replay.json)"
    rc=1
  fi
fi
[ "$rc" = 0 ] && echo "quickstart: every expected command arrived and the replay re-emitted nothing"
if [ "$KEEP" = 1 ]; then
  echo "quickstart: node and nats-server keep running (NATS $RUNNER_NATS_URL, admin http://127.0.0.1:$ADMIN_PORT); Ctrl-C stops them"
  wait "${PIDS[1]}"
fi
echo "quickstart: stopping the node (SIGTERM) and nats-server"
exit "$rc"
