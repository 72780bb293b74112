#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md on this machine, each beside its baseline in
# the same run: the criterion suites, the queue's bytes per user, Tier-1 throughput, and
# the rush (a release node driven by `urr loadgen`). Everything lands in
# target/bench-report/ (criterion's own reports stay in target/criterion/).
#
#   scripts/bench.sh            # everything (about an hour on 2 cores)
#   scripts/bench.sh rush       # only the rush;  also: criterion, memory, tier1
#   scripts/bench.sh waiters    # 50k, 100k and 250k people waiting on one node (not in `all`)
#   scripts/bench.sh tier1-http # Tier-1 joins/s over HTTP beside /healthz on one node (not in `all`)
#   URR_RUSH_USERS=20000 URR_RUSH_SEATS=2000 scripts/bench.sh rush
#   URR_RUSH_URR=/tmp/urr-before scripts/bench.sh rush   # another build's node, for a before/after
#   URR_RUSH_NODE_FLAGS="--rate-limits false" scripts/bench.sh rush   # extra `serve` flags
#   URR_BENCH_DB_CONNECTIONS=40 scripts/bench.sh rush   # the node's PostgreSQL pool (default 20)
# The rush also leaves the node's own metrics (rush-node-metrics.txt: per-route latency,
# the actor's commit times and batch sizes) and PostgreSQL's table statistics
# (rush-tables.txt: scans per table) beside the generator's report.
#
# Needs PostgreSQL (postgres@127.0.0.1:5432, trust) and Redis (127.0.0.1:6379) running,
# as scripts/test.sh leaves them; moto_server for the Tier-1 emulator figures; wrk
# (apt-get install wrk) for tier1-http.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-report
mkdir -p "$out"
what="${1:-all}"

pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running: run scripts/test.sh once"; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not running: run scripts/test.sh once"; exit 1; }

run() { echo "== $*" | tee -a "$out/log.txt"; "$@" 2>&1 | tee -a "$out/log.txt"; }

# Starts a release node on a fresh database (`$1`: its name, `$2`: its log, then extra
# `serve` flags) and sets `node` (its pid), `url`, `db`, `prefix` (its Redis key prefix) and
# `secret`; `stop_node` ends it.
start_node() {
  local name=$1 log=$2
  shift 2
  local id
  id="$(date +%s)$$"
  db="urr_bench_${name}_$id"
  prefix="urr-bench-$name-$id:"
  secret="$(head -c 32 /dev/urandom | base64)"
  URR_JWT_SECRET="$secret" RUST_LOG=warn "$urr" serve --listen 127.0.0.1:0 \
    --database-name "$db" --redis-prefix "$prefix" \
    --db-max-connections "${URR_BENCH_DB_CONNECTIONS:-20}" "$@" \
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
  # The node's Redis keys go too: a rush leaves ~200,000, and what the next run finds on
  # the server it shares is not part of what it measures.
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "$prefix*" \
    | xargs -r -n 1000 redis-cli -h 127.0.0.1 -p 6379 unlink >/dev/null || true
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
  # URR_RUSH_URR names another `urr` binary to run (an earlier build, for a before/after).
  urr="${URR_RUSH_URR:-${CARGO_TARGET_DIR:-target}/release/urr}"
  [[ -n ${URR_RUSH_URR:-} ]] || run cargo build --release --bin urr
  metrics_token="$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  # URR_RUSH_NODE_FLAGS adds `serve` flags (e.g. `--rate-limits false`).
  # shellcheck disable=SC2086 # the extra flags are words
  start_node rush "$out/rush-node.log" --payment-sandbox true --metrics-token "$metrics_token" \
    ${URR_RUSH_NODE_FLAGS:-}
  # The load generator shares the node's two cores: what is measured is the whole
  # machine selling out, clients included.
  URR_JWT_SECRET="$secret" run "$urr" loadgen --target "$url" \
    --database-name "$db" --users "$users" --seats "$seats" --accounts provisioned \
    --concurrency 256 --arrival-secs 30 --max-secs 840 --progress false --out "$out/rush" \
    | tee "$out/rush.txt" || true
  # The node's own view of the run (per-route latency histograms, batch sizes), beside
  # what the generator measured from outside.
  curl -s -H "Authorization: Bearer $metrics_token" "$url/metrics" >"$out/rush-node-metrics.txt" || true
  psql -h 127.0.0.1 -U postgres -d "$db" -c "SELECT relname, seq_scan, seq_tup_read, idx_scan, \
    n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables ORDER BY seq_tup_read DESC" \
    >"$out/rush-tables.txt" || true
  stop_node
fi
if [[ $what == waiters ]]; then
  # People kept waiting in one event's queue on one release node, each polling at the
  # pace the node asks, from 8 loopback source addresses; at each size the node's memory
  # per waiting person, its CPU and the status latency (BENCHMARKS.md, "Waiting users").
  # A fresh node per size, so each RSS figure is that size's own.
  sizes="${URR_WAITERS_SIZES:-50000 100000 250000}"
  # URR_WAITERS_URR names another `urr` binary to run (an earlier build, for a before/after).
  urr="${URR_WAITERS_URR:-${CARGO_TARGET_DIR:-target}/release/urr}"
  [[ -n ${URR_WAITERS_URR:-} ]] || run cargo build --release --bin urr
  for n in $sizes; do
    start_node waiters "$out/waiters-node-$n.log"
    URR_JWT_SECRET="$secret" run "$urr" waiters --target "$url" --database-name "$db" \
      --users "$n" --join-rate "${URR_WAITERS_JOIN_RATE:-2500}" --hold-secs "${URR_WAITERS_HOLD_SECS:-60}" \
      --node-pid "$node" --out "$out/waiters" | tee -a "$out/waiters.txt" || true
    stop_node
  done
fi
if [[ $what == tier1-http ]]; then
  # Tier-1 joins over HTTP on one release node (`urr serve`, the room in-process on Redis)
  # beside `/healthz` on the same node, in the same run: wrk, 2 threads, 64 connections,
  # every join a distinct person (an access token signed beforehand, one per request), a
  # fresh room per round; after each round the room is read back from Redis and checked
  # (one place per person, every 2xx join recorded, a second join answers the same place).
  # wrk and Redis share the node's two cores. URR_TIER1_HTTP_NODE_FLAGS adds `serve` flags
  # (e.g. `--rate-limits false`: the gateway's per-user limit is a Redis call per join).
  # The summary lines go to target/bench-report/tier1-http.txt.
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
  secs="${URR_TIER1_HTTP_SECS:-10}"
  conns="${URR_TIER1_HTTP_CONNECTIONS:-64}"
  rounds="${URR_TIER1_HTTP_ROUNDS:-2}"
  people="${URR_TIER1_HTTP_PEOPLE:-$((secs * 60000))}"
  # URR_TIER1_HTTP_URR names another `urr` binary to measure (an earlier build, say).
  urr="${URR_TIER1_HTTP_URR:-${CARGO_TARGET_DIR:-target}/release/urr}"
  [[ -n ${URR_TIER1_HTTP_URR:-} ]] || run cargo build --release --bin urr
  run cargo build --release -p urr-vwr --example tier1_http
  tool="${CARGO_TARGET_DIR:-target}/release/examples/tier1_http"
  admin_key="$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  # shellcheck disable=SC2086 # the extra flags are words
  start_node tier1 "$out/tier1-http-node.log" --vwr-admin-key "$admin_key" ${URR_TIER1_HTTP_NODE_FLAGS:-}
  tokens="$out/tier1-http-tokens"
  URR_JWT_SECRET="$secret" run "$tool" tokens --users "$people" --files 2 --out "$tokens"
  summary="$out/tier1-http.txt"
  echo "# $(date -u +%FT%TZ) ${secs}s per run, $conns connections, node flags: ${URR_TIER1_HTTP_NODE_FLAGS:-none}" >>"$summary"
  # Requests/sec and the 50 % and 99 % latency of a wrk --latency report.
  wrk_rate() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
  wrk_pct() { awk -v p="$2%" '$1 == p {print $2}' "$1"; }
  for round in $(seq 1 "$rounds"); do
    event="$(cat /proc/sys/kernel/random/uuid)"
    curl -fsS -o /dev/null -X POST -H "x-vwr-admin-key: $admin_key" -H 'content-type: application/json' \
      -d '{}' "$url/vwr-api/vwr/admin/rooms/$event/open"
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "== round $round, load $load" | tee -a "$out/log.txt"
    wrk -t2 -c"$conns" -d2s "$url/healthz" >/dev/null # warm-up
    health="$out/tier1-http-healthz-$round.txt"
    joins="$out/tier1-http-joins-$round.txt"
    run wrk -t2 -c"$conns" -d"${secs}s" --latency "$url/healthz" >"$health"
    cat "$health"
    run wrk -t2 -c"$conns" -d"${secs}s" --latency -s crates/vwr-lambda/benches/tier1_http.lua \
      "$url/vwr-api/vwr/assign/$event" -- "$tokens" >"$joins"
    cat "$joins"
    line="$(grep '^tier1-http:' "$joins")"
    field() { sed -E "s/.* $1=([^ ]*).*/\1/" <<<"$line"; }
    ok="$(field ok)"
    verdict=OK
    run "$tool" verify --redis-prefix "$prefix" --event "$event" --dir "$tokens" \
      --sent "$(field sent)" --ok "$ok" --target "$url" || verdict=FAILED
    [[ $(field exhausted) == 0 ]] || verdict="VOID (tokens ran out: raise URR_TIER1_HTTP_PEOPLE)"
    [[ $(field non2xx) == 0 && $(field socket_errors) == 0 ]] || verdict="$verdict, $(field non2xx) non-2xx, $(field socket_errors) socket errors"
    joins_rate="$(awk -v r="$(wrk_rate "$joins")" -v ok="$ok" -v n="$(field completed)" 'BEGIN {printf "%.0f", r * ok / (n > 0 ? n : 1)}')"
    health_rate="$(wrk_rate "$health")"
    printf 'round %s (load %s): /healthz %.0f/s p50 %s p99 %s | joins %s/s p50 %s ms p99 %s ms | %s of /healthz | check %s\n' \
      "$round" "$load" "$health_rate" "$(wrk_pct "$health" 50)" "$(wrk_pct "$health" 99)" \
      "$joins_rate" "$(field p50_ms)" "$(field p99_ms)" \
      "$(awk -v a="$joins_rate" -v b="$health_rate" 'BEGIN {printf "%.2fx", a / b}')" "$verdict" \
      | tee -a "$summary"
  done
  stop_node
  rm -rf "$tokens"
fi
echo "figures: $out"
