#!/usr/bin/env bash
# Runs the persistence specs RUNS times in a row (default 30) and stops at the first failed run, keeping its console
# output and TRX under artifacts/persistence-repeat/. With --load, two busy loops (one per core of a 2-core machine)
# run during each run and are ended by pid after it. REPEAT_WRAP, when set, prefixes each run (e.g. a lock command
# that serializes heavy jobs on a shared machine); REPEAT_OUT changes the output directory.
#   bash tests/Runner.Persistence.Lmdb.Tests/repeat.sh [RUNS] [--load]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-30}
load=${2:-}
out=${REPEAT_OUT:-artifacts/persistence-repeat}
rm -rf "$out"
mkdir -p "$out"
${REPEAT_WRAP:-} dotnet build tests/Runner.Persistence.Lmdb.Tests -c Release -v q -nologo >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }

one_run() { # $1 = run number, $2 = --load or empty
  local busy=() rc=0
  if [ "$2" = "--load" ]; then
    for _ in 1 2; do (while :; do :; done) & busy+=($!); done
  fi
  dotnet test tests/Runner.Persistence.Lmdb.Tests -c Release --no-build \
    --logger "trx;LogFileName=run-$1.trx" --results-directory "$out" >"$out/run-$1.log" 2>&1 || rc=$?
  for pid in "${busy[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
  return "$rc"
}
export -f one_run
export out

summary() { grep -Eo 'Passed: +[0-9]+.*Duration: [^-]+' "$out/run-$1.log" | tr -s ' ' || true; }
for i in $(seq 1 "$runs"); do
  if ${REPEAT_WRAP:-} bash -c 'one_run "$@"' _ "$i" "$load"; then
    echo "run $i passed: $(summary "$i")"
  else
    echo "run $i FAILED (output: $out/run-$i.log)"
    grep -E '^\s+Failed ' "$out/run-$i.log" || tail -n 30 "$out/run-$i.log"
    exit 1
  fi
done
echo "$runs of $runs runs passed${load:+ (under load)}"
