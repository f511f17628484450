/* scripts: Lua sources of the queue operations, one per operation.
 *
 * Rules every script follows: all arguments are validated before the first
 * write (Redis does not roll a script back when it errors half-way), every
 * move of a job between {p}:jobs, {p}:retry and {p}:dead happens inside one
 * script, and nothing depends on keys that are not in KEYS. Scripts run
 * with effects replication (Redis >= 5), so XADD '*' is allowed. */
#include "queue/scripts.h"

#include "queue/lanes_lua.h"

/* publish(key, ttl, maxlen, now, fields): XADD of one entry to a stream
 * for other readers ({p}:events, {p}:deploys; record.h), trimmed in the
 * same step: MINID now - ttl (exact, so an entry lives no longer than
 * queue.events_ttl) and then MAXLEN ~ maxlen (approximate: never fewer
 * are kept). bs_publish_args checks the three numbers first. */
#define PUBLISH_LUA \
	"local function publish(key, ttl, maxlen, now, fields)\n" \
	"  local args = {'XADD', key, 'MINID', string.format('%.0f',\n" \
	"    math.max(now - ttl, 0)), '*'}\n" \
	"  for _, v in ipairs(fields) do args[#args + 1] = v end\n" \
	"  redis.call(unpack(args))\n" \
	"  redis.call('XTRIM', key, 'MAXLEN', '~', maxlen)\n" \
	"end\n" \
	"local function bs_publish_args(mode, ttl, maxlen)\n" \
	"  if mode == '' then return true end\n" \
	"  return (mode == 'msgpack' or mode == 'json') and\n" \
	"    (tonumber(ttl) or 0) > 0 and (tonumber(maxlen) or 0) > 0\n" \
	"end\n"

/* enqueue
 * KEYS: 1 jobs, 2 seen:<delivery>, 3 seenc:<content> (ignored unless
 *       ARGV[7] == "1"), 4 raw:<delivery>, 5 stats, 6 lanes index,
 *       7 rawin:<delivery>, 8 events, then per lane of the push: 2 keys,
 *       its list and its meta hash
 * ARGV: 1 job, 2 delivery, 3 event key, 4 seen ttl s, 5 raw ttl s (0: keep
 *       nothing), 6 maxlen (0: none), 7 has content key, 8 dedupe window
 *       s (> 0), 9 hook id ("" : none; no spaces), 10 resend ("1":
 *       X-Attempt-Number > 1), 11 events format ("msgpack", "json", or ""
 *       for no {p}:events entry), 12 events ttl ms, 13 events maxlen, 14
 *       the event record as JSON (format json; msgpack's is ARGV[1]), 15
 *       repository, 16 received ms, ..., and LAST the lane names, one per
 *       lane key pair
 * The raw delivery (headers, body, event, received_ms) does not pass
 * through Lua, which costs Redis a copy and a conversion per byte: the
 * client writes it to rawin:<delivery> (HSET, EXPIRE 60) right before this
 * script on the same connection (bs_redis_eval_after), and the script
 * renames it to raw:<delivery> when it queues the delivery, or deletes it.
 * A raw TTL with no rawin key (its HSET failed) fails before any write:
 * the rename is the first one.
 * seen:<delivery> holds the stream id queued under that delivery id (TTL
 * seen ttl), seenc:<content> "<stream id> <hook>" (TTL the window). Both
 * stream ids say when they were queued (ms-seq, Redis's clock, as TIME):
 * a resend of a delivery id queued longer ago than the window is queued
 * again (a manual Resend, see bs_jobs_enqueue), and a content key counts
 * only within the window (also one written with a longer TTL before).
 * Returns {"dup", first_id} or {"queued", new_id}, or the error QUEUEFULL
 * (nothing written) when the stream already holds maxlen entries. The
 * stream is never trimmed: finished entries are XDELed, so every entry in
 * it is a job not yet done, and trimming would drop acknowledged
 * deliveries; refusing makes ingest answer 503 so that Bitbucket resends.
 * The new entry's id joins the tail of each lane (lanes.h) in this same
 * step, and the entry's `lanes` field lists them (newline-separated).
 * A queued delivery is also appended to {p}:events in this step (record.h),
 * so the two streams cannot disagree; a duplicate or a refusal adds
 * nothing to it. */
struct bs_redis_script bs_script_enqueue = { .acks = 1, .prelude = bs_lanes_lua, .source =
	PUBLISH_LUA
	"local nl = (#KEYS - 8) / 2\n"
	"if nl < 0 or nl ~= math.floor(nl) or #ARGV < 16 + nl or\n"
	"    not bs_publish_args(ARGV[11], ARGV[12], ARGV[13]) then\n"
	"  return redis.error_reply('bad enqueue arguments')\n"
	"end\n"
	"local names = {}\n"
	"for i = 1, nl do\n"
	"  names[i] = ARGV[#ARGV - nl + i]\n"
	"  if names[i] == '' then return redis.error_reply('bad lane name') end\n"
	"end\n"
	"local win = tonumber(ARGV[8])\n"
	"if not win or win < 1 or not ARGV[10] or string.find(ARGV[9], '%s') then\n"
	"  return redis.error_reply('bad enqueue arguments')\n"
	"end\n"
	"local rawttl = tonumber(ARGV[5]) or 0\n"
	"local now = now_ms()\n"
	"local function recent(sid)\n"
	"  local ms = tonumber(string.match(sid, '^(%d+)%-'))\n"
	"  return ms ~= nil and now - ms <= win * 1000\n"
	"end\n"
	"local id = redis.call('GET', KEYS[2])\n"
	"if id and ARGV[10] == '1' and not recent(id) then id = nil end\n"
	"if not id and ARGV[7] == '1' then\n"
	"  local cid, chook = string.match(redis.call('GET', KEYS[3]) or '',\n"
	"    '^(%S+) ?(%S*)$')\n"
	"  if cid and recent(cid) and (ARGV[9] == '' or chook ~= ARGV[9]) then\n"
	"    id = cid\n"
	"  end\n"
	"end\n"
	"if id then\n"
	"  if rawttl > 0 then redis.call('DEL', KEYS[7]) end\n"
	"  redis.call('HINCRBY', KEYS[5], 'duplicates', 1)\n"
	"  return {'dup', id}\n"
	"end\n"
	"local maxlen = tonumber(ARGV[6]) or 0\n"
	"if maxlen > 0 and redis.call('XLEN', KEYS[1]) >= maxlen then\n"
	"  if rawttl > 0 then redis.call('DEL', KEYS[7]) end\n"
	"  redis.call('HINCRBY', KEYS[5], 'refused_full', 1)\n"
	"  return redis.error_reply('QUEUEFULL jobs stream holds ' .. maxlen ..\n"
	"    ' unfinished jobs (queue.max_stream)')\n"
	"end\n"
	"if rawttl > 0 then\n"
	"  local ok = redis.pcall('RENAME', KEYS[7], KEYS[4])\n"
	"  if type(ok) == 'table' and ok.err then\n"
	"    return redis.error_reply('raw delivery not staged')\n"
	"  end\n"
	"end\n"
	"if nl > 0 then\n"
	"  id = redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'delivery',\n"
	"    ARGV[2], 'event', ARGV[3], 'lanes', table.concat(names, '\\n'))\n"
	"  for i = 1, nl do\n"
	"    local L, X = KEYS[7 + 2 * i], KEYS[8 + 2 * i]\n"
	"    lane_joined(KEYS[6], L, X, names[i], id, redis.call('RPUSH', L, id), now)\n"
	"  end\n"
	"else\n"
	"  id = redis.call('XADD', KEYS[1], '*',\n"
	"    'job', ARGV[1], 'delivery', ARGV[2], 'event', ARGV[3])\n"
	"end\n"
	"redis.call('SET', KEYS[2], id, 'EX', ARGV[4])\n"
	"if ARGV[7] == '1' then\n"
	"  redis.call('SET', KEYS[3], id .. ' ' .. ARGV[9], 'EX', ARGV[8])\n"
	"end\n"
	"if rawttl > 0 then\n"
	"  redis.call('HSET', KEYS[4], 'job', id)\n"
	"  redis.call('EXPIRE', KEYS[4], rawttl)\n"
	"end\n"
	"if ARGV[11] ~= '' then\n"
	"  local data = ARGV[1]\n"
	"  if ARGV[11] == 'json' then data = ARGV[14] end\n"
	"  publish(KEYS[8], tonumber(ARGV[12]), ARGV[13], now, {'v', '1',\n"
	"    'delivery', ARGV[2], 'event', ARGV[3], 'repository', ARGV[15],\n"
	"    'received_ms', ARGV[16], 'job', id, 'format', ARGV[11], 'data', data})\n"
	"end\n"
	"redis.call('HINCRBY', KEYS[5], 'queued', 1)\n"
	"return {'queued', id}\n"
};

/* claim: XAUTOCLAIM (Redis 7 reply: next, entries, deleted ids) plus the
 * exact delivery count of each claimed entry from XPENDING. One XAUTOCLAIM
 * looks at no more than COUNT*10 pending entries, so the script follows the
 * cursor (at most 16 rounds): stale entries behind many live ones of busy
 * workers are still found, not only those at the head of the PEL.
 * KEYS: 1 jobs, 2 stats
 * ARGV: 1 group, 2 consumer, 3 min idle ms, 4 count
 * Returns { {id, {f, v, ...}, delivered}, ... }; entries deleted from the
 * stream meanwhile (nil fields) are skipped. */
struct bs_redis_script bs_script_claim = { .source =
	"local want = tonumber(ARGV[4])\n"
	"local out = {}\n"
	"local cursor = '0-0'\n"
	"for _ = 1, 16 do\n"
	"  local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3],\n"
	"    cursor, 'COUNT', want - #out)\n"
	"  for _, e in ipairs(r[2]) do\n"
	"    if type(e) == 'table' and type(e[2]) == 'table' then\n"
	"      local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)\n"
	"      local n = 2\n"
	"      if p[1] then n = p[1][4] end\n"
	"      out[#out + 1] = {e[1], e[2], n}\n"
	"    end\n"
	"  end\n"
	"  cursor = r[1]\n"
	"  if cursor == '0-0' or #out >= want then break end\n"
	"end\n"
	"if #out > 0 then redis.call('HINCRBY', KEYS[2], 'redelivered', #out) end\n"
	"return out\n"
};

/* finish: acknowledge an entry, store its successors and move its tasks'
 * lanes, in one step.
 * KEYS: 1 jobs, 2 retry, 3 dead, 4 stats, 5 order, 6 lanes index,
 *       7 deployed, 8 deploys, then per lane op 3 keys: the lane's list,
 *       meta and parked hashes
 * ARGV: 1 group, 2 entry id, 3 registered count, 4 dead maxlen (0: none),
 *       5 number of records, 6 consumer ("" : any), then per record either
 *         "retry", due ms, member (msgpack array [f1, v1, f2, v2 ...])
 *         "dead", 2n, f1, v1, ... fn, vn
 *       then the lease owner, the hold ms (worker.order_hold), the number
 *       of lane ops, and per op: target,
 *       origin, action, member ("" unless park or reg). Actions (lanes.h):
 *         "reg"  leaves the lane, recorded as the target's newest registered
 *                (member: the sha registered, kept in deployed, or "")
 *         "pop"  leaves the lane;  "sup" leaves it, counted as superseded
 *         "keep" stays (a retry is scheduled): a head is marked failing,
 *                and released if it has blocked pushes for the hold
 *         "stay" stays (not attempted: no turn yet)
 *         "park" waits: member is stored as its parked successor
 *       Every op gives back the lease if this owner holds it for that
 *       origin, then fixes the lane's head and wakes the parked head when
 *       the lane is free (so a push parked while its turn came is moved on).
 *       then the outcomes for {p}:deploys (record.h): the format ("msgpack",
 *       "json", or "" for none), ttl ms, maxlen, their number, and per
 *       outcome kind, target, delivery, repository, job, at ms, data; each
 *       is appended only when the finish writes (so exactly once).
 * Returns 1, or 0 when the entry was already acknowledged or, with a
 * consumer given, is no longer pending for that consumer (another worker
 * claimed it after the visibility timeout and now owns its outcome; a late
 * finish must not acknowledge it under that worker, nor put a retry of it
 * in the retry set while it is still being worked on). Nothing is written
 * then but the count finish_repeats in {p}:stats: that one write makes
 * the WAIT after a finish sent again cover the first send's writes, on
 * whichever connection it goes (a connection's WAIT waits for its own
 * last write). */
struct bs_redis_script bs_script_finish = { .acks = 1, .prelude = bs_lanes_lua, .source =
	PUBLISH_LUA
	"local recs = {}\n"
	"local i = 7\n"
	"for _ = 1, tonumber(ARGV[5]) do\n"
	"  local kind = ARGV[i]\n"
	"  if kind == 'retry' then\n"
	"    if not tonumber(ARGV[i + 1]) or not ARGV[i + 2] then\n"
	"      return redis.error_reply('bad retry record')\n"
	"    end\n"
	"    recs[#recs + 1] = {kind, ARGV[i + 1], ARGV[i + 2]}\n"
	"    i = i + 3\n"
	"  elseif kind == 'dead' then\n"
	"    local n = tonumber(ARGV[i + 1])\n"
	"    if not n or n < 2 or n % 2 ~= 0 then\n"
	"      return redis.error_reply('bad dead record')\n"
	"    end\n"
	"    recs[#recs + 1] = {kind, i + 2, n}\n"
	"    i = i + 2 + n\n"
	"  else\n"
	"    return redis.error_reply('bad finish record')\n"
	"  end\n"
	"end\n"
	"local owner = ARGV[i]\n"
	"local hold = tonumber(ARGV[i + 1])\n"
	"local nops = tonumber(ARGV[i + 2])\n"
	"if not owner or not hold or not nops or #KEYS ~= 8 + 3 * nops then\n"
	"  return redis.error_reply('bad finish arguments')\n"
	"end\n"
	"i = i + 3\n"
	"local ops = {}\n"
	"local acts = {reg = 1, pop = 1, sup = 1, keep = 1, stay = 1, park = 1}\n"
	"for n = 1, nops do\n"
	"  local t, pos, act, member = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
	"  if not member or t == '' or not parse(pos) or not acts[act]\n"
	"      or (act == 'park' and member == '') then\n"
	"    return redis.error_reply('bad lane op')\n"
	"  end\n"
	"  ops[n] = {t, pos, act, member, 8 + 3 * (n - 1)}\n"
	"  i = i + 4\n"
	"end\n"
	"local pubmode, pubttl, pubmax, npub = ARGV[i], ARGV[i + 1], ARGV[i + 2],\n"
	"  tonumber(ARGV[i + 3])\n"
	"if not npub or not bs_publish_args(pubmode, pubttl, pubmax) or\n"
	"    (pubmode == '' and npub > 0) then\n"
	"  return redis.error_reply('bad finish outcomes')\n"
	"end\n"
	"local pub = i + 4\n"
	"i = pub + 7 * npub\n"
	"if i ~= #ARGV + 1 then return redis.error_reply('bad finish arguments') end\n"
	"if ARGV[6] ~= '' then\n"
	"  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"
	"  if not p[1] or p[1][2] ~= ARGV[6] then\n"
	"    redis.call('HINCRBY', KEYS[4], 'finish_repeats', 1)\n"
	"    return 0\n"
	"  end\n"
	"end\n"
	"if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then\n"
	"  redis.call('HINCRBY', KEYS[4], 'finish_repeats', 1)\n"
	"  return 0\n"
	"end\n"
	"redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"local retried, dead = 0, 0\n"
	"local maxlen = tonumber(ARGV[4]) or 0\n"
	"for _, rec in ipairs(recs) do\n"
	"  if rec[1] == 'retry' then\n"
	"    redis.call('ZADD', KEYS[2], rec[2], rec[3])\n"
	"    retried = retried + 1\n"
	"  else\n"
	"    local args = {'XADD', KEYS[3]}\n"
	"    if maxlen > 0 then\n"
	"      args[3] = 'MAXLEN'; args[4] = '~'; args[5] = maxlen\n"
	"    end\n"
	"    args[#args + 1] = '*'\n"
	"    for j = rec[2], rec[2] + rec[3] - 1 do args[#args + 1] = ARGV[j] end\n"
	"    redis.call(unpack(args))\n"
	"    dead = dead + 1\n"
	"  end\n"
	"end\n"
	"local now = now_ms()\n"
	"local sup = 0\n"
	"local k = {jobs = KEYS[1], dead = KEYS[3], stats = KEYS[4], order = KEYS[5],\n"
	"  idx = KEYS[6], deployed = KEYS[7]}\n"
	"for _, op in ipairs(ops) do\n"
	"  local b = op[5]\n"
	"  sup = sup + lane_op(k, KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], op[1], op[2],\n"
	"    op[3], op[4], owner, hold, now)\n"
	"end\n"
	"local reg = tonumber(ARGV[3]) or 0\n"
	"if reg > 0 then redis.call('HINCRBY', KEYS[4], 'registered', reg) end\n"
	"if retried > 0 then redis.call('HINCRBY', KEYS[4], 'retried', retried) end\n"
	"if dead > 0 then redis.call('HINCRBY', KEYS[4], 'dead', dead) end\n"
	"if sup > 0 then redis.call('HINCRBY', KEYS[4], 'superseded', sup) end\n"
	"for j = pub, pub + 7 * (npub - 1), 7 do\n"
	"  publish(KEYS[8], tonumber(pubttl), pubmax, now, {'v', '1', 'kind', ARGV[j],\n"
	"    'target', ARGV[j + 1], 'delivery', ARGV[j + 2], 'repository',\n"
	"    ARGV[j + 3], 'job', ARGV[j + 4], 'at_ms', ARGV[j + 5], 'format',\n"
	"    pubmode, 'data', ARGV[j + 6]})\n"
	"end\n"
	"return 1\n"
};

/* promote: move due retry records back into the jobs stream.
 * KEYS: 1 retry, 2 jobs, 3 dead
 * ARGV: 1 now unix ms, 2 max records
 * A member that does not unpack to a non-empty even array of strings is
 * moved to dead with reason "corrupt retry record" (never lost, never
 * retried forever). Returns the number moved back into jobs. */
struct bs_redis_script bs_script_promote = { .source =
	"local ms = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"
	"  'LIMIT', 0, ARGV[2])\n"
	"local moved = 0\n"
	"for _, m in ipairs(ms) do\n"
	"  local ok, fv = pcall(cmsgpack.unpack, m)\n"
	"  local good = ok and type(fv) == 'table' and #fv > 0 and #fv % 2 == 0\n"
	"    and #fv <= 512\n"
	"  if good then\n"
	"    for _, x in ipairs(fv) do\n"
	"      if type(x) ~= 'string' then good = false end\n"
	"    end\n"
	"  end\n"
	"  if good then\n"
	"    redis.call('XADD', KEYS[2], '*', unpack(fv))\n"
	"    moved = moved + 1\n"
	"  else\n"
	"    redis.call('XADD', KEYS[3], '*', 'reason', 'corrupt retry record',\n"
	"      'record', m)\n"
	"  end\n"
	"  redis.call('ZREM', KEYS[1], m)\n"
	"end\n"
	"return moved\n"
};

/* dead_replay: put one dead letter back into the jobs stream.
 * KEYS: 1 dead, 2 jobs, 3 replays, 4 stats
 * ARGV: 1 dead entry id, 2 actor, 3 now unix ms, 4 maxlen of replays
 *       (decimal, > 0)
 * The fields are copied unchanged except attempt, which restarts at "0",
 * origin, which is dropped (the replay is a new push in its target's lane:
 * it joins the tail with the new entry's id, lanes.h) but kept as
 * queued_as unless that is there already (the id the delivery was first
 * queued as, which its outcome on {p}:deploys names, record.h),
 * and first_ms, which restarts at now (so retry.max_age counts from the
 * replay, not from the first failure days ago); the history is kept. The
 * replay is recorded in the same step with XADD replays MAXLEN ~ ARGV[4]
 * as {kind "dead", who ARGV[2], when_ms ARGV[3], what ARGV[1], job NEW_ID}
 * plus target when the dead letter has one (the record format of every
 * replay, see bs_admin_replay_record). Returns the new jobs id, or the
 * error "no dead letter 'ID'" or "bad replays maxlen" (nothing written). */
struct bs_redis_script bs_script_dead_replay = { .source =
	"if not string.match(ARGV[4] or '', '^[1-9][0-9]*$') then\n"
	"  return redis.error_reply('bad replays maxlen')\n"
	"end\n"
	"local r = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])\n"
	"if #r == 0 then\n"
	"  return redis.error_reply(\"no dead letter '\" .. ARGV[1] .. \"'\")\n"
	"end\n"
	"local f = r[1][2]\n"
	"local args = {'XADD', KEYS[2], '*'}\n"
	"local seen = false\n"
	"local target, origin, queued = nil, nil, nil\n"
	"for i = 1, #f, 2 do\n"
	"  local v = f[i + 1]\n"
	"  if f[i] == 'attempt' then v = '0'; seen = true end\n"
	"  if f[i] == 'first_ms' then v = ARGV[3] end\n"
	"  if f[i] == 'target' and not target then target = v end\n"
	"  if f[i] == 'queued_as' then queued = v end\n"
	"  if f[i] == 'origin' then\n"
	"    origin = v\n"
	"  elseif f[i] ~= 'queued_as' then\n"
	"    args[#args + 1] = f[i]\n"
	"    args[#args + 1] = v\n"
	"  end\n"
	"end\n"
	"if not seen then args[#args + 1] = 'attempt'; args[#args + 1] = '0' end\n"
	"if queued or origin then\n"
	"  args[#args + 1] = 'queued_as'; args[#args + 1] = queued or origin\n"
	"end\n"
	"local id = redis.call(unpack(args))\n"
	"redis.call('XDEL', KEYS[1], ARGV[1])\n"
	"local rec = {'XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',\n"
	"  'kind', 'dead', 'who', ARGV[2], 'when_ms', ARGV[3], 'what', ARGV[1],\n"
	"  'job', id}\n"
	"if target then rec[#rec + 1] = 'target'; rec[#rec + 1] = target end\n"
	"redis.call(unpack(rec))\n"
	"redis.call('HINCRBY', KEYS[4], 'replayed', 1)\n"
	"return id\n"
};
