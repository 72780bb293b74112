#!/usr/bin/env bash
# A six-process Redis Cluster on loopback (three masters, one replica each) for tests and
# laptops: `scripts/redis-cluster.sh start DIR BASEPORT` starts redis-server on ports
# BASEPORT..BASEPORT+5 with their data under DIR and waits for cluster_state:ok;
# `scripts/redis-cluster.sh stop DIR BASEPORT` stops them. The URL URR takes is printed:
# redis+cluster://127.0.0.1:BASEPORT,... (docs/operations.md#redis-cluster).
#
# Durable as production should be: append-only file, fsync every second. A node timeout
# of 2 s lets a replica take over a killed master in about 4 s.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR BASEPORT" >&2; exit 2; }
[ $# -eq 3 ] || usage
action=$1 dir=$2 base=$3
[[ $base =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ "$base" -le 65529 ] || usage
ports=()
for i in 0 1 2 3 4 5; do ports+=($((base + i))); done

running() { redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; }

stop() {
  for port in "${ports[@]}"; do
    if running "$port"; then
      redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do running "$port" || break; sleep 0.1; done
  done
}

start() {
  for port in "${ports[@]}"; do
    if running "$port"; then
      echo "port $port is already in use; stop it first" >&2
      exit 1
    fi
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  for port in "${ports[@]}"; do
    mkdir -p "$dir/$port"
    rm -f "$dir/$port/nodes.conf"
    rm -rf "$dir/$port/appendonlydir"
    # A config file per node, so a test that kills a node can start it again as it was:
    # `redis-server DIR/PORT/redis.conf`.
    cat >"$dir/$port/redis.conf" <<CONF
daemonize yes
bind 127.0.0.1
port $port
cluster-enabled yes
cluster-config-file $dir/$port/nodes.conf
cluster-node-timeout 2000
appendonly yes
appendfsync everysec
save ""
maxmemory-policy noeviction
dir $dir/$port
logfile $dir/$port/redis.log
pidfile $dir/$port/redis.pid
CONF
    redis-server "$dir/$port/redis.conf"
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do running "$port" && break; sleep 0.1; done
    running "$port" || { echo "redis-server on $port did not start; see $dir/$port/redis.log" >&2; stop; exit 1; }
  done
  local nodes=()
  for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
    { cat "$dir/create.log" >&2; stop; exit 1; }
  # Every node must agree before a client's first slot map is right.
  for port in "${ports[@]}"; do
    ok=0
    for _ in $(seq 1 100); do
      if redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
        ok=1
        break
      fi
      sleep 0.2
    done
    [ $ok = 1 ] || { echo "cluster_state is not ok on $port" >&2; stop; exit 1; }
  done
  # And every node knows the roles: three masters serving slots, three replicas (a fresh
  # replica calls itself master until the news has gone round).
  for port in "${ports[@]}"; do
    ok=0
    for _ in $(seq 1 100); do
      replicas=$(redis-cli -h 127.0.0.1 -p "$port" cluster nodes 2>/dev/null |
        awk '$3 ~ /(^|,)slave(,|$)/' | wc -l)
      if [ "$replicas" = 3 ]; then
        ok=1
        break
      fi
      sleep 0.2
    done
    [ $ok = 1 ] || { echo "node $port does not see three replicas" >&2; stop; exit 1; }
  done
  local seeds
  seeds=$(IFS=,; echo "${nodes[*]}")
  echo "redis+cluster://$seeds"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
