#!/usr/bin/env bash
# Schemathesis (PyPI) against a live `urr serve`: every operation of /api/openapi.json,
# a bounded number of generated requests each, as a signed-in fan and as an operator.
# Fails on any 5xx, any response whose status, content type or body the document does
# not describe (every error must be the JSON error shape), schema-invalid input that is
# accepted, and calls that succeed without the credentials they need. Called by scripts/test.sh; needs the `urr`
# binary (URR_BIN, else target/debug/urr), PostgreSQL and Redis.
#
# URR_FUZZ_EXAMPLES (default 25) bounds the examples per operation (the fan's run, over
# the routes the operator's run already covered, takes a fifth of them).
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
if ! command -v st >/dev/null; then
  python3 -m pip install --quiet schemathesis
  command -v pyenv >/dev/null && pyenv rehash || true
fi

target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=${URR_BIN:-$target_dir/debug/urr}
POSTGRES=${URR_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS=${URR_TEST_REDIS_URL:-redis://127.0.0.1:6379/}
EXAMPLES=${URR_FUZZ_EXAMPLES:-25}

id=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:16])')
db=urr_fuzz_$id
database_url=${POSTGRES%/*}/$db
services=(--database-url "$database_url" --redis-url "$REDIS" --redis-prefix "urr-fuzz:$id:")
work=$(mktemp -d)
psql "$POSTGRES" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE $db"

node_pid=
cleanup() {
  if [ -n "$node_pid" ]; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  psql "$POSTGRES" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Rate limits off: the fuzz sends far more than a person would from one address, and a
# 429 would hide what the handler does with the input.
RUST_LOG=${RUST_LOG:-warn} "$BIN" serve --listen 127.0.0.1:0 "${services[@]}" \
  --jwt-secret "fuzz-secret-$id-$id" --payment-sandbox true --rate-limits false \
  --db-max-connections 8 >"$work/stdout" 2>"$work/stderr" &
node_pid=$!
url=
for _ in $(seq 1 600); do
  url=$(sed -n 's/.*URR listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/stdout" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$work/stderr"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "urr serve did not start"; cat "$work/stderr"; exit 1; }

# One fan and one operator, signed in with the password; their access tokens go in every
# request as a bearer token.
call() { # METHOD PATH [curl args]: the body, or the failure and exit
  local method=$1 path=$2
  shift 2
  curl -s -o "$work/body" -w '%{http_code}' -X "$method" "$url$path" \
    -H 'content-type: application/json' "$@" >"$work/status"
  case $(cat "$work/status") in
    2*) cat "$work/body" ;;
    *) echo "$method $path answered $(cat "$work/status"): $(cat "$work/body")" >&2; exit 1 ;;
  esac
}
session() { # register|login EMAIL -> access token
  call POST "/api/v1/auth/$1" \
    -d "{\"email\":\"$2\",\"password\":\"fuzz-password-123\",\"name\":\"Fuzz\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])'
}
fan=$(session register "fan-$id@example.com")
session register "operator-$id@example.com" >/dev/null
"$BIN" admin grant "operator-$id@example.com" "${services[@]}" >/dev/null
operator=$(session login "operator-$id@example.com")

# Something to find: an event with seats, so a few generated ids are not all unknown.
call POST /api/v1/admin/events -H "authorization: Bearer $operator" -d @- >/dev/null <<'JSON'
{"title": "Fuzz Night", "venue": "Hall", "address": "1 Main St","startsAt": "2031-01-01T19:00:00Z",
 "saleStartsAt": "2026-01-01T00:00:00Z", "status": "on_sale",
 "ticketTypes": [{"name": "General", "price": 99000, "quantity": 100}]}
JSON

# Every check but positive_data_acceptance: the document's request schemas are looser
# than the handlers' validation (text lengths, ranges, required-but-non-empty), so valid-
# looking requests are refused with a 400 by design. Stateful runs follow the document's
# links (create an event, then read it, queue for it, ...).
checks=${URR_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,allow_header_conformance,use_after_free,ensure_resource_availability,ignored_auth}
# Streams never end, so a request to one would only time out.
common=(--checks "$checks" --max-examples "$EXAMPLES" --exclude-path-regex '/stream(/|$)'
  --phases "${URR_FUZZ_PHASES:-examples,coverage,fuzzing,stateful}" --request-timeout 10 --seed 1
  --suppress-health-check all --warnings off --no-shrink)

# Schemathesis keeps a cache in its working directory: keep it out of the repository.
cd "$work"
echo "fuzzing $url/api/openapi.json as an operator"
st run "$url/api/openapi.json" "${common[@]}" -H "Authorization: Bearer $operator"
echo "fuzzing $url/api/openapi.json as a fan (no operator routes)"
st run "$url/api/openapi.json" "${common[@]}" -H "Authorization: Bearer $fan" \
  --max-examples $(((EXAMPLES + 4) / 5)) \
  --exclude-tag admin --exclude-path-regex '/vwr/admin/'
