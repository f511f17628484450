"""The two streams bitsleuth writes for other programs (issue 15), through
the real binary: {p}:events (one entry per accepted delivery) and
{p}:deploys (one entry per deploy outcome), decoded with python3-msgpack
and held against the published JSON Schemas in docs/schema/ with
python3-jsonschema, in both encodings (queue.events_format); a consumer
group created after the workers finished still reads everything; trimming
by queue.events_maxlen and queue.events_ttl; queue.events: false writes
neither key; with queue.shards each repository's entries are on its
shard's streams."""
import json
import os
import subprocess
import sys
import time

import jsonschema
import msgpack

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
import test_events as E  # noqa: E402
import test_pipeline as P  # noqa: E402

PREFIX = "bstest"
SCHEMA_DIR = os.path.join(H.SOURCE_DIR, "docs", "schema")
EVENT_FIELDS = ["v", "delivery", "event", "repository", "received_ms", "job", "format", "data"]
DEPLOY_FIELDS = ["v", "kind", "target", "delivery", "repository", "job", "at_ms", "format", "data"]
BASE = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
WEB = {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master",
       "issue_tags": True}
GONE = {"org": "acme", "deployment": "gone", "repository": "brydzewski/foo", "branch": "master"}
WEB_PATH = "/api/1/deployments/acme/foo-web/register_deploy"
GONE_PATH = "/api/1/deployments/acme/gone/register_deploy"
# Every deployment the fixtures of test_pipeline and test_events hit.
ALL_DEPLOYMENTS = P.DEPLOYMENTS + E.DC_DEPLOYMENTS + E.CLOUD_MERGE_DEPLOYMENTS


def key(name, prefix=PREFIX):
    return "{%s}:%s" % (prefix, name)


def load_schema(name):
    with open(os.path.join(SCHEMA_DIR, name)) as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return s


EVENT_SCHEMA = jsonschema.Draft202012Validator(load_schema("event.v1.schema.json"))
DEPLOY_SCHEMA = jsonschema.Draft202012Validator(load_schema("deploy.v1.schema.json"))
_ENTRIES = load_schema("entries.v1.schema.json")
EVENTS_ENTRY = jsonschema.Draft202012Validator(dict(_ENTRIES, **{"$ref": "#/$defs/events"}))
DEPLOYS_ENTRY = jsonschema.Draft202012Validator(dict(_ENTRIES, **{"$ref": "#/$defs/deploys"}))


def valid(validator, doc, what):
    errs = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errs:
        H.fail("%s is not schema-valid: %s at %s\n%s" % (
            what, errs[0].message, "/".join(str(p) for p in errs[0].absolute_path),
            json.dumps(doc, indent=1)[:3000]))


def read_stream(redis, k):
    """Every entry of stream k, decoded and validated: a list of dicts with
    the plain fields as str, `id` (the stream id) and `record` (data
    decoded by its format)."""
    out = []
    for sid, flat in redis.cmd("XRANGE", k, "-", "+") or []:
        names = [n.decode() for n in flat[::2]]
        vals = flat[1::2]
        events = k.endswith(":events")
        want = EVENT_FIELDS if events else DEPLOY_FIELDS
        assert names[:len(want)] == want, ("fields in the contract's order", k, names)
        f = {n: v.decode() for n, v in zip(names, vals) if n != "data"}
        data = vals[names.index("data")]
        if f["format"] == "msgpack":
            rec = msgpack.unpackb(data, raw=False)
        else:
            assert f["format"] == "json", f
            rec = json.loads(data.decode())
        plain = dict(f, data=data.decode("latin-1"))
        valid(EVENTS_ENTRY if events else DEPLOYS_ENTRY, plain, "the plain fields of %s %s" % (k, sid))
        valid(EVENT_SCHEMA if events else DEPLOY_SCHEMA, rec, "the record of %s %s" % (k, sid))
        f["id"] = sid.decode()
        f["record"] = rec
        out.append(f)
    return out


def check_event_entry(e, fmt):
    """The plain fields of an events entry agree with its record."""
    r = e["record"]
    assert e["format"] == fmt, e
    assert r["delivery"] == e["delivery"], e
    assert r["received_ms"] == int(e["received_ms"]), e
    assert r["event"]["event_key"] == e["event"], e
    assert (r["event"]["repository"] or "") == e["repository"], e


def check_deploy_entry(d, fmt):
    r = d["record"]
    assert d["format"] == fmt, d
    for f in ("kind", "delivery", "job"):
        assert r[f] == d[f], (f, d)
    assert (r["target"] or "") == d["target"], d
    assert (r["repository"] or "") == d["repository"], d
    assert r["at_ms"] == int(d["at_ms"]), d
    if r["target"]:
        assert r["target"] == "%s/%s/%s" % (r["org"], r["deployment"], r["environment"]), r


def request_target(req):
    parts = req["path"].split("/")       # /api/1/deployments/ORG/DEP/register_deploy
    return "%s/%s/%s" % (parts[4], parts[5], req["json"].get("environment") or "production")


def push_body(sha, branch="master", message=None, repo=None):
    p = json.loads(json.dumps(BASE))
    ch = p["push"]["changes"][0]
    ch["new"]["name"] = branch
    ch["new"]["target"]["hash"] = sha
    if message is not None:
        ch["commits"][0]["message"] = message
    if repo is not None:
        p["repository"]["full_name"] = repo
    return json.dumps(p).encode()


def sha_of(i, tag=0xa):
    return "%x%039x" % (tag, i)


def start(deployments, extra="", before=None):
    redis = H.RedisServer()
    if before:
        before(redis)
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(E.config(redis.port, sleuth.url, deployments, extra=extra))
    return redis, sleuth, bs


def settle(redis, what, prefix=PREFIX, timeout=60):
    H.wait_for(lambda: H.settled(redis, prefix), timeout, interval=0.05,
               what="%s: every job finished" % what)


# ---------------------------------------------------------------- every fixture

def post_all_fixtures(bs):
    """Every fixture once, as its product sends it; returns
    [(delivery, event key, post kwargs, status, answer)]."""
    out = []
    for i, (path, ev, product) in enumerate(H.fixtures()):
        body = H.read_fixture(path)
        d = "{st-%03d-%d}" % (i, int(time.time() * 1000))
        if product == "dc":
            kw = {"headers": {"X-Request-Id": d}, "delivery": False}
        else:
            kw = {"delivery": d}
        st, js, raw, _ = bs.post(ev, body, **kw)
        assert js is not None, (path, st, raw)
        out.append((d, ev, (ev, body, kw), st, js))
    return out


def every_fixture_in(fmt):
    extra = "queue:\n  events_format: %s\n" % fmt
    redis, sleuth, bs = start(ALL_DEPLOYMENTS, extra=extra)
    try:
        posted = post_all_fixtures(bs)
        queued = {d: js for d, ev, _, st, js in posted if st == 202 and js.get("status") == "queued"}
        for d, ev, _, st, js in posted:
            if d in queued:
                assert js.get("job"), js
        assert len(queued) >= 40, "most fixtures queue a job (%d did)" % len(queued)
        settle(redis, "all fixtures (%s)" % fmt)
        events = read_stream(redis, key("events"))
        by_delivery = {}
        for e in events:
            check_event_entry(e, fmt)
            assert e["delivery"] not in by_delivery, ("twice on events", e["delivery"])
            by_delivery[e["delivery"]] = e
        # Exactly the accepted deliveries, each with the job id of its 202.
        assert sorted(by_delivery) == sorted(queued), set(by_delivery) ^ set(queued)
        evkey = {d: ev for d, ev, _, _, _ in posted}
        for d, js in queued.items():
            e = by_delivery[d]
            assert e["job"] == js["job"], (d, e["job"], js)
            assert e["event"] == evkey[d], (d, e["event"])
            assert e["record"]["event"]["type"] in ("push", "pr"), e["record"]["event"]
        # Ids in stream order are in order of acceptance.
        assert [e["id"] for e in events] == sorted((e["id"] for e in events),
                                                    key=lambda s: tuple(map(int, s.split("-"))))
        # A duplicate (the same delivery id again) adds nothing.
        d0 = next(d for d, ev, _, _, _ in posted if d in queued and ev == "repo:push")
        ev, body, kw = next(p for dd, _, p, _, _ in posted if dd == d0)
        st, js, raw, _ = bs.post(ev, body, **kw)
        assert st == 200 and js["status"] == "duplicate" and js["job"] == queued[d0]["job"], (st, js)
        dc0 = next((d for d, _, p, _, _ in posted if d in queued and p[2].get("delivery") is False), None)
        assert dc0, "some Data Center fixture is queued"
        ev, body, kw = next(p for dd, _, p, _, _ in posted if dd == dc0)
        st, js, raw, _ = bs.post(ev, body, **kw)
        assert st == 200 and js["status"] == "duplicate", (st, js)
        time.sleep(0.3)
        settle(redis, "after the duplicates")
        assert redis.cmd("XLEN", key("events")) == len(events)

        # Every registration Sleuth got is one `registered` outcome, with
        # the job id its delivery was queued as.
        deploys = read_stream(redis, key("deploys"))
        for dep in deploys:
            check_deploy_entry(dep, fmt)
        kinds = sorted({dep["kind"] for dep in deploys})
        assert kinds == ["registered"], kinds
        with sleuth.lock:
            reqs = list(sleuth.requests)
        assert reqs and all(r["answered"] == 200 for r in reqs)
        got = sorted((dep["record"]["target"], dep["record"]["sha"]) for dep in deploys)
        want = sorted((request_target(r), r["json"]["sha"]) for r in reqs)
        # One outcome per registration; a call repeated after a lost answer
        # (a loaded machine) is still one outcome.
        assert sorted(set(got)) == sorted(set(want)), (got, want)
        assert len(set(want)) <= len(got) <= len(want), (got, want)
        for dep in deploys:
            assert dep["delivery"] in by_delivery, dep
            assert dep["job"] == by_delivery[dep["delivery"]]["job"], dep
        print("  streams (%s): %d fixtures posted, %d on events, %d registered on deploys, schema-valid"
              % (fmt, len(posted), len(events), len(deploys)), flush=True)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_every_fixture_once_on_events_msgpack():
    every_fixture_in("msgpack")


def test_every_fixture_once_on_events_json():
    every_fixture_in("json")


# ---------------------------------------------------------------- outcomes

def deploys_by_kind(redis, prefix=PREFIX):
    out = {}
    for d in read_stream(redis, key("deploys", prefix)):
        check_deploy_entry(d, d["format"])
        out.setdefault(d["kind"], []).append(d)
    return out


def test_outcomes_registered_and_dead():
    """Sleuth 200: registered, with what Sleuth received; Sleuth 404: a dead
    letter, with its reason and status."""
    redis, sleuth, bs = start([WEB, GONE])
    sleuth.responder = lambda req: (404, "no such deployment", {}) if req["path"] == GONE_PATH \
        else (200, "Success", {})
    try:
        body = push_body(sha_of(1), message="SHOP-12 fix the basket, see OPS-7\n")
        st, js, raw, _ = bs.post("repo:push", body, delivery="{out-1}")
        assert st == 202, raw
        H.wait_for(lambda: redis.cmd("XLEN", key("dead")) == 1, 30, what="the 404 dead-lettered")
        settle(redis, "registered and dead")
        H.wait_for(lambda: redis.cmd("XLEN", key("deploys")) >= 2, 10, what="two outcomes")
        kinds = deploys_by_kind(redis)
        assert sorted(kinds) == ["dead", "registered"], kinds
        assert len(kinds["registered"]) == 1 and len(kinds["dead"]) == 1, kinds
        reg = kinds["registered"][0]["record"]
        [req] = [r for r in sleuth.requests if r["path"] == WEB_PATH]
        b = req["json"]
        assert reg["target"] == "acme/foo-web/production" == request_target(req), reg
        assert reg["sha"] == b["sha"] == sha_of(1), (reg, b)
        assert reg["commits"] == (len(b["commits"]) if "commits" in b else None), (reg, b)
        assert reg["date"] == b["date"], (reg, b)
        assert sorted(reg["keys"]) == sorted(js["issues"]) and "SHOP-12" in reg["keys"], (reg, js)
        assert sorted("#" + k.lower() for k in reg["keys"]) == sorted(b.get("tags", [])), (reg, b)
        assert reg["status"] == 200 and reg["attempts"] >= 1, reg
        assert reg["delivery"] == "{out-1}" and reg["job"] == js["job"], (reg, js)
        assert reg["repository"] == "brydzewski/foo" and reg["event"] == "repo:push", reg
        dead = kinds["dead"][0]["record"]
        assert dead["target"] == "acme/gone/production" and dead["sha"] == sha_of(1), dead
        assert dead["status"] == 404 and dead["reason"], dead
        assert dead["job"] == js["job"] and dead["delivery"] == "{out-1}", dead
        ev = read_stream(redis, key("events"))
        assert [e["job"] for e in ev] == [js["job"]], ev
        # The dead letter replayed once Sleuth knows the deployment: its
        # outcome still names the job the delivery was queued as, so it
        # joins its events entry; and a replay adds nothing to events.
        sleuth.responder = lambda req: (200, "Success", {})
        out = subprocess.run([H.BIN, "dlq", "replay", "--all", "-c", bs.config], env=bs.env,
                             capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
        H.wait_for(lambda: len(deploys_by_kind(redis).get("registered", [])) == 2, 30,
                   what="the replayed dead letter registered")
        again = [d["record"] for d in deploys_by_kind(redis)["registered"]
                 if d["target"] == "acme/gone/production"]
        assert len(again) == 1 and again[0]["job"] == js["job"], again
        assert again[0]["delivery"] == "{out-1}" and again[0]["status"] == 200, again
        assert [e["job"] for e in read_stream(redis, key("events"))] == [js["job"]]
    finally:
        H.shutdown(redis, sleuth, bs)


def test_outcome_dry_run():
    """sleuth.dry_run: a dry_run outcome with the URL it would have gone to;
    {p}:dryrun still holds the request body."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    cfg = E.config(redis.port, sleuth.url, [WEB]).replace("dry_run: false", "dry_run: true")
    bs = H.Bitsleuth(cfg)
    try:
        st, js, raw, _ = bs.post("repo:push", push_body(sha_of(2)), delivery="{dry-1}")
        assert st == 202, raw
        H.wait_for(lambda: redis.cmd("XLEN", key("deploys")) == 1, 15, what="the dry_run outcome")
        settle(redis, "dry run")
        kinds = deploys_by_kind(redis)
        assert list(kinds) == ["dry_run"] and len(kinds["dry_run"]) == 1, kinds
        r = kinds["dry_run"][0]["record"]
        assert r["url"].endswith(WEB_PATH), r
        assert r["target"] == "acme/foo-web/production" and r["sha"] == sha_of(2), r
        assert r["job"] == js["job"] and r["delivery"] == "{dry-1}", r
        assert redis.cmd("XLEN", key("dryrun")) == 1
        assert sleuth.requests == []
    finally:
        H.shutdown(redis, sleuth, bs)


def test_outcome_superseded():
    """A failing head held past worker.order_hold: the newer push is
    registered, the older one's late success is superseded (as in
    test_ordering.py)."""
    broken = [True]
    sha_a, sha_b = sha_of(3, 0xa), sha_of(3, 0xb)

    def responder(req):
        if (req["json"] or {}).get("sha") == sha_a and broken[0]:
            return (500, "oops", {})
        return (200, "Success", {})
    extra = "retry:\n  base: 300ms\n  cap: 600ms\nworker:\n  order_hold: 2s\n"
    redis, sleuth, bs = start([WEB], extra=extra)
    sleuth.responder = responder
    try:
        st, ja, raw, _ = bs.post("repo:push", push_body(sha_a), delivery="{sup-a}")
        assert st == 202, raw
        H.wait_for(lambda: any(r["json"]["sha"] == sha_a for r in sleuth.requests), 10, what="A tried")
        st, jb, raw, _ = bs.post("repo:push", push_body(sha_b), delivery="{sup-b}")
        assert st == 202, raw
        H.wait_for(lambda: [r for r in sleuth.answered(200) if r["json"]["sha"] == sha_b], 30,
                   what="B registered past the hold")
        broken[0] = False
        H.wait_for(lambda: redis.cmd("XLEN", key("dead")) == 1, 20, what="A superseded")
        settle(redis, "superseded")
        kinds = deploys_by_kind(redis)
        assert sorted(kinds) == ["registered", "superseded"], kinds
        [reg], [sup] = kinds["registered"], kinds["superseded"]
        assert reg["record"]["sha"] == sha_b and reg["job"] == jb["job"], reg
        s = sup["record"]
        assert s["sha"] == sha_a and s["job"] == ja["job"] and s["delivery"] == "{sup-a}", s
        assert s["target"] == "acme/foo-web/production" and s["reason"], s
        assert s["superseded_by"] == jb["job"], (s, jb)
        # Retries are not outcomes: A's failed attempts wrote nothing.
        assert len(read_stream(redis, key("deploys"))) == 2
    finally:
        H.shutdown(redis, sleuth, bs)


# ---------------------------------------------------------------- consumer group

def test_a_group_created_late_reads_everything():
    """The workers finished everything (jobs stream empty); a group made
    afterwards from id 0 still reads every delivery and every outcome."""
    redis, sleuth, bs = start([WEB])
    try:
        n = 25
        jobs = {}
        for i in range(n):
            d = "{late-%d}" % i
            branch = "master" if i % 2 == 0 else "other-%d" % i
            st, js, raw, _ = bs.post("repo:push", push_body(sha_of(100 + i), branch=branch), delivery=d)
            assert st == 202, raw
            jobs[d] = js["job"]
        settle(redis, "late group")
        assert redis.cmd("XLEN", key("jobs")) == 0
        assert redis.cmd("XGROUP", "CREATE", key("events"), "late", "0") == "OK"
        assert redis.cmd("XGROUP", "CREATE", key("deploys"), "late", "0") == "OK"
        seen = {}
        for _ in range(n + 1):
            got = redis.cmd("XREADGROUP", "GROUP", "late", "c1", "COUNT", "7", "STREAMS", key("events"), ">")
            if not got:
                break
            for sid, flat in got[0][1]:
                f = dict(zip(flat[::2], flat[1::2]))
                d = f[b"delivery"].decode()
                assert d not in seen, d
                seen[d] = f[b"job"].decode()
                assert redis.cmd("XACK", key("events"), "late", sid) == 1
        assert seen == jobs, set(seen) ^ set(jobs)
        assert redis.cmd("XPENDING", key("events"), "late")[0] == 0
        got = redis.cmd("XREADGROUP", "GROUP", "late", "c1", "COUNT", "100", "STREAMS", key("deploys"), ">")
        regs = [dict(zip(flat[::2], flat[1::2])) for _, flat in got[0][1]]
        assert len(regs) == (n + 1) // 2 and all(r[b"kind"] == b"registered" for r in regs), regs
        assert sorted(r[b"job"].decode() for r in regs) == \
            sorted(jobs["{late-%d}" % i] for i in range(0, n, 2))
        # bitsleuth keeps no group of its own on either stream.
        for k in ("events", "deploys"):
            groups = redis.cmd("XINFO", "GROUPS", key(k))
            names = [dict(zip(g[::2], g[1::2]))[b"name"] for g in groups]
            assert names == [b"late"], (k, names)
    finally:
        H.shutdown(redis, sleuth, bs)


# ---------------------------------------------------------------- trimming

def test_trim_by_maxlen():
    maxlen, node, n = 20, 4, 60
    extra = "queue:\n  events_maxlen: %d\n" % maxlen
    redis, sleuth, bs = start([WEB], extra=extra,
                              before=lambda r: r.cmd("CONFIG", "SET", "stream-node-max-entries", str(node)))
    try:
        posted = []
        for i in range(n):
            d = "{trim-%d}" % i
            st, js, raw, _ = bs.post("repo:push", push_body(sha_of(200 + i)), delivery=d)
            assert st == 202, raw
            posted.append(d)
            length = redis.cmd("XLEN", key("events"))
            if i + 1 <= maxlen:
                assert length == i + 1, (i, length)
            else:
                assert maxlen <= length <= maxlen + node, (i, length)
        ev = read_stream(redis, key("events"))
        # The newest survive, oldest first.
        assert [e["delivery"] for e in ev] == posted[-len(ev):], [e["delivery"] for e in ev]
        settle(redis, "maxlen")
        H.wait_for(lambda: len(sleuth.answered(200)) >= n, 20, what="every push registered")
        dl = redis.cmd("XLEN", key("deploys"))
        assert maxlen <= dl <= maxlen + node, dl
        print("  trim by maxlen %d (node %d): events %d, deploys %d after %d" % (
            maxlen, node, len(ev), dl, n), flush=True)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_trim_by_ttl():
    """events_ttl 2s: the next delivery's XADD drops every entry older than
    2 s (MINID, exact); the newer ones stay."""
    ttl_ms = 2000
    redis, sleuth, bs = start([WEB], extra="queue:\n  events_ttl: 2s\n")
    try:
        def post(d, i):
            st, js, raw, _ = bs.post("repo:push", push_body(sha_of(300 + i)), delivery=d)
            assert st == 202, raw
            return js["job"]
        old = [post("{ttl-old-%d}" % i, i) for i in range(3)]
        settle(redis, "ttl, old")
        H.wait_for(lambda: redis.cmd("XLEN", key("deploys")) == 3, 10, what="3 outcomes")
        assert redis.cmd("XLEN", key("events")) == 3
        time.sleep(ttl_ms / 1000.0 + 0.5)
        t_new = time.time()
        new = [post("{ttl-new-%d}" % i, 10 + i) for i in range(3)]
        settle(redis, "ttl, new")
        H.wait_for(lambda: len(sleuth.answered(200)) >= 6, 10, what="6 registered")
        took = time.time() - t_new
        ev = read_stream(redis, key("events"))
        dp = read_stream(redis, key("deploys"))
        for what, entries in (("events", ev), ("deploys", dp)):
            jobs = [e["job"] for e in entries]
            assert not set(old) & set(jobs), (what, "entries older than the ttl are gone", jobs)
            assert set(jobs) <= set(new) and jobs and jobs[-1] == new[-1], (what, jobs, new)
            ms = [int(e["id"].split("-")[0]) for e in entries]
            assert max(ms) - min(ms) <= ttl_ms, (what, ms)
            # The newer ones stay (all three, unless the machine took longer
            # than the ttl to post and register them: then only those
            # within it of the newest are required).
            if took < ttl_ms / 1000.0 - 0.2:
                assert jobs == new, (what, jobs, new)
        print("  trim by ttl %d ms: %d old gone, events %d, deploys %d" % (ttl_ms, len(old), len(ev), len(dp)),
              flush=True)
    finally:
        H.shutdown(redis, sleuth, bs)


# ---------------------------------------------------------------- off

def test_events_off_writes_neither_key():
    redis, sleuth, bs = start([WEB], extra="queue:\n  events: false\n")
    try:
        for i in range(3):
            st, js, raw, _ = bs.post("repo:push", push_body(sha_of(400 + i)), delivery="{off-%d}" % i)
            assert st == 202, raw
        settle(redis, "events off")
        H.wait_for(lambda: len(sleuth.answered(200)) >= 3, 10, what="the pipeline still registers")
        assert redis.cmd("EXISTS", key("events")) == 0
        assert redis.cmd("EXISTS", key("deploys")) == 0
        assert not redis.cmd("KEYS", "*events*") and not redis.cmd("KEYS", "*deploys*")
    finally:
        H.shutdown(redis, sleuth, bs)


# ---------------------------------------------------------------- shards

def shard_of(repo, n):
    """queue/shard.c's FNV-1a of the lowercased repository, written again."""
    h = 2166136261
    for c in repo.lower().encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h % n


def test_shards_put_entries_on_the_repository_shard():
    repos = ["brydzewski/foo", "acme/a", "acme/b", "acme/c", "acme/d", "acme/e"]
    assert {shard_of(r, 2) for r in repos} == {0, 1}
    redis, sleuth, bs = start([WEB], extra="queue:\n  shards: 2\n")
    try:
        want = {0: set(), 1: set()}
        for i, r in enumerate(repos):
            d = "{shard-%d}" % i
            st, js, raw, _ = bs.post("repo:push", push_body(sha_of(500 + i), repo=r), delivery=d)
            assert st == 202, raw
            want[shard_of(r, 2)].add(d)
        for s in (0, 1):
            settle(redis, "shard %d" % s, prefix="%s:%d" % (PREFIX, s))
            got = read_stream(redis, key("events", "%s:%d" % (PREFIX, s)))
            assert {e["delivery"] for e in got} == want[s], (s, got, want)
            assert len(got) == len(want[s])
        assert redis.cmd("EXISTS", key("events")) == 0
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
