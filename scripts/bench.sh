#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md on this machine, each beside its baseline in
# the same run: the criterion suites, the queue's bytes per user, Tier-1 throughput, and
# the rush (a release node driven by `urr loadgen`). Everything lands in
# target/bench-report/ (criterion's own reports stay in target/criterion/).
#
#   scripts/bench.sh            # everything (about an hour on 2 cores)
#   scripts/bench.sh rush       # only the rush;  also: criterion, memory, tier1
#   scripts/bench.sh waiters    # 50k, 100k and 250k people waiting on one node (not in `all`)
#   URR_RUSH_USERS=20000 URR_RUSH_SEATS=2000 scripts/bench.sh rush
#
# Needs PostgreSQL (postgres@127.0.0.1:5432, trust) and Redis (127.0.0.1:6379) running,
# as scripts/test.sh leaves them; moto_server for the Tier-1 emulator figures.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-report
mkdir -p "$out"
what="${1:-all}"

pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running: run scripts/test.sh once"; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not running: run scripts/test.sh once"; exit 1; }

run() { echo "== $*" | tee -a "$out/log.txt"; "$@" 2>&1 | tee -a "$out/log.txt"; }

# Starts a release node on a fresh database (`$1`: its name, `$2`: its log, then extra
# `serve` flags) and sets `node` (its pid), `url`, `db` and `secret`; `stop_node` ends it.
start_node() {
  local name=$1 log=$2
  shift 2
  local id
  id="$(date +%s)$$"
  db="urr_bench_${name}_$id"
  secret="$(head -c 32 /dev/urandom | base64)"
  URR_JWT_SECRET="$secret" RUST_LOG=warn "$urr" serve --listen 127.0.0.1:0 \
    --database-name "$db" --redis-prefix "urr-bench-$name-$id:" --db-max-connections 20 "$@" \
    >"$log" 2>&1 &
  node=$!
  trap 'kill $node 2>/dev/null || true' EXIT
  url=""
  for _ in $(seq 1 100); do
    url="$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -n 1 || true)"
    [[ -n $url ]] && break
    sleep 0.2
  done
  [[ -n $url ]] || { echo "the node did not start:"; cat "$log"; exit 1; }
}
stop_node() {
  kill "$node" 2>/dev/null || true
  wait "$node" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\"" || true
}

if [[ $what == all || $what == criterion ]]; then
  for bench in tokens queue holds queue_vs_seed holds_vs_seed edge actors; do
    run cargo bench --bench "$bench" | tee "$out/$bench.txt"
  done
  # What a Tier-1 proof of work costs a client and the server (BENCHMARKS.md).
  run cargo bench -p urr-vwr --bench bot_defence | tee "$out/bot_defence.txt"
fi

if [[ $what == all || $what == memory ]]; then
  run cargo test -p urr-actors --release --test queue_memory -- --nocapture | tee "$out/queue_memory.txt"
fi

if [[ $what == all || $what == tier1 ]]; then
  export PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
  run cargo test -p urr-vwr --release --test throughput -- --ignored --nocapture --test-threads 1 \
    | tee "$out/tier1.txt"
fi

if [[ $what == all || $what == rush ]]; then
  users="${URR_RUSH_USERS:-100000}"
  seats="${URR_RUSH_SEATS:-10000}"
  run cargo build --release --bin urr
  urr="${CARGO_TARGET_DIR:-target}/release/urr"
  start_node rush "$out/rush-node.log" --payment-sandbox true
  # The load generator shares the node's two cores: what is measured is the whole
  # machine selling out, clients included.
  URR_JWT_SECRET="$secret" run "$urr" loadgen --target "$url" \
    --database-name "$db" --users "$users" --seats "$seats" --accounts provisioned \
    --concurrency 256 --arrival-secs 30 --max-secs 840 --progress false --out "$out/rush" \
    | tee "$out/rush.txt" || true
  stop_node
fi
if [[ $what == waiters ]]; then
  # People kept waiting in one event's queue on one release node, each polling at the
  # pace the node asks, from 8 loopback source addresses; at each size the node's memory
  # per waiting person, its CPU and the status latency (BENCHMARKS.md, "Waiting users").
  # A fresh node per size, so each RSS figure is that size's own.
  sizes="${URR_WAITERS_SIZES:-50000 100000 250000}"
  run cargo build --release --bin urr
  urr="${CARGO_TARGET_DIR:-target}/release/urr"
  for n in $sizes; do
    start_node waiters "$out/waiters-node-$n.log"
    URR_JWT_SECRET="$secret" run "$urr" waiters --target "$url" --database-name "$db" \
      --users "$n" --join-rate "${URR_WAITERS_JOIN_RATE:-2500}" --hold-secs "${URR_WAITERS_HOLD_SECS:-60}" \
      --node-pid "$node" --out "$out/waiters" | tee -a "$out/waiters.txt" || true
    stop_node
  done
fi
echo "figures: $out"
