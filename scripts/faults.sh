#!/usr/bin/env bash
# The fault suite at full size (tests/faults): a rush of URR_FAULT_USERS buyers (default
# 2000) for URR_FAULT_SEATS seats (default 1000) while nodes are killed, frozen past their
# leases, restarted one by one and joined by another. CI runs the same tests small from
# scripts/test.sh. Everything runs on loopback, bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urr/target}"
export URR_FAULT_USERS="${URR_FAULT_USERS:-2000}"
export URR_FAULT_SEATS="${URR_FAULT_SEATS:-1000}"
mkdir -p target
if [ "${1:-}" = measure ]; then
  # The cluster figures of BENCHMARKS.md: forwarding overhead, a three-node rush beside a
  # one-node rush, and failover times over URR_FAULT_FAILOVERS kills.
  shift
  export URR_FAULT_FAILOVERS="${URR_FAULT_FAILOVERS:-20}"
  cargo test --release --test faults -- --nocapture --test-threads 1 --include-ignored \
    measure:: the_owner_killed "$@" 2>&1 | tee target/faults-measure.log |
    grep -E '^(MEASURE|FAILOVER|test )' || true
  grep -q 'test result: ok' target/faults-measure.log
  exit
fi
cargo test --release --test faults -- --nocapture --test-threads 1 "$@" 2>&1 |
  tee target/faults.log | grep -E '^(FAILOVER|kill|rolled|sold|writes|owners|test |time to|admitted|redis|postgres)' || true
grep -q 'test result: ok' target/faults.log
