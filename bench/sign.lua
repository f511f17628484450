-- wrk request generator: every request is a UNIQUE, correctly signed
-- Bitbucket Cloud repo:push, so neither delivery-id nor content dedupe can
-- short-cut the work.
--
--   BODY_FILE=bench/push5.json SECRET=bench-secret \
--     wrk -t1 -c32 -d10s --latency -s bench/sign.lua http://127.0.0.1:PORT
--
-- Environment:
--   BODY_FILE  the payload template (bench/push5.json, bench/push200.json)
--   SECRET     the webhook secret (HMAC-SHA256 key)
--   HOLE       the 40-hex placeholder replaced in every request (default:
--              forty zeros, the new head hash of both payloads; every copy
--              in the body gets the same per-request value)
--   REPOS      when set to N > 0: "full_name": "acme/shop" becomes
--              acme/r0 .. acme/r(N-1), round robin (the end-to-end targets)
--   URL_PATH   request path (default /hooks/bitbucket)
--   STATIC     when set: one signed request, sent again and again (the
--              cheapest generator: its cost against the signing one is the
--              cost of making requests unique and signing them)
--
-- Per request: the 40-hex hole gets string.format("%08x%08x%08x%08x%08x",
-- thread, start time, random salt, 0, n), X-Request-UUID is {8-8-24} of the
-- same hex (unique too), the body is signed
-- as X-Hub-Signature: sha256=<hex HMAC-SHA256(SECRET, body)> through
-- libcrypto (wrk links it; LuaJIT FFI calls HMAC directly).
--
-- done() prints one line:
--   RESULT requests=N duration_us=D rps=R p50_ms= p90_ms= p99_ms= p999_ms=
--          max_ms= errors=E non2xx=X s202=K bytes=B
-- non2xx counts every answer outside 200..299 (wrk's own errors.status
-- only counts >= 400); s202 counts the 202s.
local ffi = require("ffi")

ffi.cdef [[
const void *EVP_sha256(void);
unsigned char *HMAC(const void *evp, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md,
                    unsigned int *md_len);
]]

local function crypto_lib()
  local ok = pcall(function() return ffi.C.HMAC end)
  if ok then return ffi.C end
  for _, name in ipairs({ "crypto", "libcrypto.so.3", "libcrypto.so" }) do
    local ok2, lib = pcall(ffi.load, name)
    if ok2 then return lib end
  end
  error("sign.lua: libcrypto's HMAC not found")
end

local C = crypto_lib()
local md = ffi.new("unsigned char[32]")
local mdlen = ffi.new("unsigned int[1]")
local hexpair = ffi.new("uint16_t[256]")
for i = 0, 255 do
  local s = string.format("%02x", i)
  hexpair[i] = s:byte(1) + 256 * s:byte(2)   -- little-endian: first char first
end

local secret = os.getenv("SECRET") or "bench-secret"
local evp = C.EVP_sha256()

local f = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE unset"), "rb"))
local template = f:read("*a")
f:close()
local hole = os.getenv("HOLE") or string.rep("0", 40)
assert(#hole == 40, "sign.lua: HOLE must be 40 characters")
local nrepos = tonumber(os.getenv("REPOS") or "0") or 0
local path = os.getenv("URL_PATH") or "/hooks/bitbucket"
local REPO_HOLE = '"full_name": "acme/shop"'
assert(template:find(hole, 1, true), "sign.lua: the hole " .. hole .. " is not in BODY_FILE")

-- One request image per repository (one when REPOS is unset), kept in C
-- memory: per request the holes, the delivery id and the signature are
-- written in place and the image is copied out once (ffi.string). That
-- keeps the generator's own cost low (no per-request concatenation of the
-- body, no header table as wrk.format would build).
--   [head][X-Request-UUID: {ID42}][X-Hub-Signature: sha256=HEX64][CL][body]
local head = "POST " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n" ..
    "Content-Type: application/json\r\nX-Event-Key: repo:push\r\n"
local function image(body)
  local pre = head .. "X-Request-UUID: {"
  local id_off = #pre
  pre = pre .. string.rep("0", 42) .. "}\r\nX-Hub-Signature: sha256="
  local sig_off = #pre
  pre = pre .. string.rep("0", 64) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n"
  local body_off = #pre
  local img = pre .. body
  local holes, pos = {}, 1
  while true do
    local a = body:find(hole, pos, true)
    if not a then break end
    holes[#holes + 1] = body_off + a - 1
    pos = a + #hole
  end
  local buf = ffi.new("uint8_t[?]", #img)
  ffi.copy(buf, img, #img)
  return { buf = buf, len = #img, id_off = id_off, sig_off = sig_off,
           body_off = body_off, body_len = #body, holes = holes }
end

local images = {}
if nrepos > 0 then
  assert(template:find(REPO_HOLE, 1, true), "sign.lua: REPOS set but no " .. REPO_HOLE)
  for r = 0, nrepos - 1 do
    local s = template:gsub(REPO_HOLE, '"full_name": "acme/r' .. r .. '"')
    images[r + 1] = image(s)
  end
else
  images[1] = image(template)
end

local threads = {}
local tid, t0, salt, n = 0, 0, 0, 0
local counts = { non2xx = 0, s202 = 0 }

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

local function make_request()
  n = n + 1
  -- 40 hex: thread, start time, a random salt, 0, request number.
  local h = string.format("%08x%08x%08x%08x%08x", tid, t0, salt, 0, n)
  local im = images[nrepos > 0 and (n % nrepos) + 1 or 1]
  local buf = im.buf
  for i = 1, #im.holes do ffi.copy(buf + im.holes[i], h, 40) end
  ffi.copy(buf + im.id_off, h, 8)
  buf[im.id_off + 8] = 45                    -- '-'
  ffi.copy(buf + im.id_off + 9, h:sub(9, 16), 8)
  buf[im.id_off + 17] = 45
  ffi.copy(buf + im.id_off + 18, h:sub(17, 40), 24)
  C.HMAC(evp, secret, #secret, buf + im.body_off, im.body_len, md, mdlen)
  local sig = ffi.cast("uint16_t *", buf + im.sig_off)
  for i = 0, 31 do sig[i] = hexpair[md[i]] end
  return ffi.string(buf, im.len)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  -- Unique across threads (tid), runs (start time and a random salt) and
  -- requests (n).
  math.randomseed(os.time() * 1000 + tid)
  t0 = os.time()
  salt = math.random(0, 2 ^ 31)
  if os.getenv("STATIC") then
    local req = make_request()
    request = function() return req end
  end
end

function request()
  return make_request()
end

function response(status, headers, body)
  if status < 200 or status > 299 then counts.non2xx = counts.non2xx + 1 end
  if status == 202 then counts.s202 = counts.s202 + 1 end
  non2xx, s202 = counts.non2xx, counts.s202
end

function done(summary, latency, requests)
  local non, ok202 = 0, 0
  for _, t in ipairs(threads) do
    non = non + (tonumber(t:get("non2xx")) or 0)
    ok202 = ok202 + (tonumber(t:get("s202")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
    "p999_ms=%.3f max_ms=%.3f errors=%d non2xx=%d s202=%d bytes=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, non, ok202, summary.bytes))
end
