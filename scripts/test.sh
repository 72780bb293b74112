#!/usr/bin/env bash
# Runs every test of URR against real PostgreSQL and Redis.
# Installs them with apt-get when missing and starts them when they are not running.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_up; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
# Tests connect as `postgres` over loopback without a password, as on the CI machine.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  echo "allowing trust auth for postgres on loopback in $hba (test machines only)"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  sleep 1
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/urr-test-redis.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

# The DynamoDB API emulator for the Tier-1 store tests (PyPI moto[server]).
export PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
if ! command -v moto_server >/dev/null; then
  python3 -m pip install --quiet 'moto[server]'
  command -v pyenv >/dev/null && pyenv rehash || true
fi

# nftables, for the fault suite's network partition (tests/faults/partition.rs): it drops
# loopback packets to one node's own 127.77.x.y address, in a table of its own. As root
# the suite requires it; elsewhere that one test says it skipped.
if ! command -v nft >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null
fi
if [ "$(id -u)" = 0 ]; then export URR_REQUIRE_NFT=1; fi

cargo test --workspace "$@"

# The API contract under fire: Schemathesis (PyPI) generates requests for every
# operation of /api/openapi.json against a live `urr serve` and fails on any 5xx or any
# response the document does not describe (scripts/fuzz-api.sh). URR_SKIP_FUZZ=1 skips it.
if [ "${URR_SKIP_FUZZ:-0}" != 1 ]; then
  cargo build --bin urr
  scripts/fuzz-api.sh
fi

# The same node on a six-process Redis Cluster on loopback (scripts/redis-cluster.sh):
# a sale, the Tier-1 room, dead letters on every master, a master killed mid-sale and
# one killed mid-rush.
# URR_SKIP_CLUSTER_TESTS=1 skips it; URR_TEST_REDIS_CLUSTER_PORT moves its six ports.
if [ "${URR_SKIP_CLUSTER_TESTS:-0}" != 1 ]; then
  cluster_port=${URR_TEST_REDIS_CLUSTER_PORT:-7100}
  cluster_dir=$(mktemp -d "${TMPDIR:-/tmp}/urr-redis-cluster.XXXXXX")
  stop_cluster() {
    scripts/redis-cluster.sh stop "$cluster_dir" "$cluster_port" || true
    rm -rf "$cluster_dir"
  }
  trap stop_cluster EXIT
  cluster_url=$(timeout 60 scripts/redis-cluster.sh start "$cluster_dir" "$cluster_port")
  URR_TEST_REDIS_CLUSTER_URL=$cluster_url timeout 900 cargo test -p urr-kv --test cluster
  URR_TEST_REDIS_CLUSTER_URL=$cluster_url timeout 900 cargo test -p urr --test api redis_cluster
  # The store, bus, queue, hold and payment tests once more, on the cluster. Those that
  # kill a Redis of their own (payments::settlement's DurableRedis) would only repeat.
  URR_TEST_REDIS_URL=$cluster_url timeout 900 cargo test -p urr-store -p urr-bus
  URR_TEST_REDIS_URL=$cluster_url timeout 1200 cargo test -p urr --test api -- \
    queue holds payments \
    --skip the_ticket_consumer_never_confirms_a_refunded_reservation \
    --skip a_paid_reservation_whose_hold_lapsed_is_completed_by_the_ticket_consumer \
    --skip a_failed_unlock_after_a_refund_is_retried_until_the_seat_can_be_held_again \
    --skip a_lapsed_hold_whose_sold_lock_could_not_be_freed_is_released_later
  stop_cluster
  trap - EXIT
fi

# The browser UI (tests/ui): Playwright driving Debian's Chromium against a real
# `urr serve` per test file, each on its own database and Redis prefix. Screenshots of
# every page land in target/ui-screenshots/. URR_SKIP_UI_TESTS=1 skips them.
if [ "${URR_SKIP_UI_TESTS:-0}" != 1 ]; then
  ui_missing=()
  [ -x /usr/bin/chromium ] || ui_missing+=(chromium)
  # Korean glyphs, so the Korean pages render (and screenshot) as text, not boxes.
  fc-list 2>/dev/null | grep -qi 'nanum\|noto sans cjk' || ui_missing+=(fonts-nanum)
  command -v psql >/dev/null || ui_missing+=(postgresql-client)
  if [ ${#ui_missing[@]} -gt 0 ]; then
    echo "installing: ${ui_missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${ui_missing[@]}" >/dev/null
  fi
  [ -d tests/ui/node_modules ] || (cd tests/ui && npm ci --no-audit --no-fund)
  cargo build --bin urr
  target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  (cd tests/ui && URR_BIN="$target_dir/debug/urr" node --test --test-concurrency=1)
fi
