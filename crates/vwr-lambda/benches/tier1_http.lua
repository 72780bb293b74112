-- wrk script of `scripts/bench.sh tier1-http`: every request is a distinct person's
-- Tier-1 join, `POST <url>` with `{}` (what the browser sends to a room without bot
-- defence) and the Bearer access token on the next line of this thread's token file
-- (`examples/tier1_http.rs tokens` writes DIR/tokens-<thread>.txt).
--
--   wrk -t2 -c64 -d10s --latency -s tier1_http.lua http://127.0.0.1:PORT/vwr-api/vwr/assign/EVENT -- DIR
--
-- A thread that runs out of tokens starts over, so later requests are second joins; the
-- summary says so (`exhausted`) and the bench treats that run as void.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local dir = args[1] or error("usage: -- TOKEN_DIR")
  tokens = {}
  for line in io.lines(dir .. "/tokens-" .. id .. ".txt") do
    tokens[#tokens + 1] = line
  end
  ntokens = #tokens
  sent = 0
  exhausted = 0
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  sent = sent + 1
  local n = sent
  if n > #tokens then
    exhausted = 1
    n = (n - 1) % #tokens + 1
  end
  headers["Authorization"] = "Bearer " .. tokens[n]
  return wrk.format("POST", nil, headers, "{}")
end

function done(summary, latency, requests)
  local sent_per_thread = {}
  local exhausted = 0
  for _, thread in ipairs(threads) do
    sent_per_thread[thread:get("id") + 1] = math.min(thread:get("sent"), thread:get("ntokens"))
    exhausted = math.max(exhausted, thread:get("exhausted"))
  end
  local failed = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "tier1-http: completed=%d ok=%d non2xx=%d socket_errors=%d sent=%s exhausted=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.requests - summary.errors.status, summary.errors.status,
    failed - summary.errors.status, table.concat(sent_per_thread, ","), exhausted,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
