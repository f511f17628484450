-- wrk script: POST one signed Bitbucket push with a fresh X-Request-UUID per
-- request (so the delivery-id dedupe does not short-cut the work).
--   BODY_FILE=bench/push5.json SIG=sha256=... wrk -s bench/post.lua URL
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
local sig = os.getenv("SIG")
local n = 0
local tid = "0"
local threads = 0

-- Every thread, and every run, gets its own delivery-id namespace.
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(os.time() + wrk.thread:get("tid"))
  tid = wrk.thread:get("tid") .. "-" .. os.time() .. "-" .. math.random(1, 1e9)
end

function request()
  n = n + 1
  return wrk.format("POST", "/hooks/bitbucket", {
    ["Content-Type"] = "application/json",
    ["X-Event-Key"] = "repo:push",
    ["X-Hub-Signature"] = sig,
    ["X-Request-UUID"] = "{" .. tid .. "-" .. n .. "}",
  }, body)
end

local statuses = {}
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
