"""The whole pipeline through the real binary: signed Bitbucket deliveries
in, register_deploy requests out at a loopback Sleuth stand-in, with a real
redis-server in between."""
import fnmatch
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

# Deployments that the Cloud push fixtures hit (and some they must not).
DEPLOYMENTS = [
    {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"},
    {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "develop",
     "environment": "dev"},
    {"org": "acme", "deployment": "test-repos", "repository": "amuniz/test-repos", "branch": "feature/*",
     "environment": "staging"},
    {"org": "acme", "deployment": "webhook", "repository": "NFALCO79/test-repos", "branch": ["feature/webhook"]},
    {"org": "cb", "deployment": "temp", "repository": "cloudbeers/temp", "branch": "main"},
    {"org": "cb", "deployment": "temp", "repository": "cloudbeers/temp", "branch": "main",
     "environment": "staging"},
    {"org": "arol", "deployment": "fw", "repository": "arolgroup/j0664-ns2-firmware", "branch": "main"},
    {"org": "arol", "deployment": "fw", "repository": "arolgroup/j0664-ns2-firmware", "branch": "gt/*",
     "environment": "dev"},
    {"org": "arol", "deployment": "never", "repository": "arolgroup/other", "branch": "main"},
]


def expected_calls(payload, seen_content):
    """What a correct bitsleuth sends for one Cloud repo:push payload,
    computed independently of the C code. Returns None for a content
    duplicate (same event+repo+changes as an earlier delivery: these posts
    name no webhook, so a repeat counts as another webhook's copy)."""
    repo = payload["repository"]["full_name"]
    changes = payload["push"]["changes"]
    ident = json.dumps([repo] + [[(c.get("new") or c.get("old") or {}).get("type"),
                                  (c.get("new") or c.get("old") or {}).get("name"),
                                  ((c.get("old") or {}).get("target") or {}).get("hash"),
                                  ((c.get("new") or {}).get("target") or {}).get("hash")] for c in changes])
    if ident in seen_content:
        return None
    seen_content.add(ident)
    calls = []
    for c in changes:
        new = c.get("new")
        if not new or c.get("closed") or new.get("type") != "branch":
            continue
        for d in DEPLOYMENTS:
            if d["repository"].lower() != repo.lower():
                continue
            branches = d["branch"] if isinstance(d["branch"], list) else [d["branch"]]
            hit = None
            for b in branches:
                glob = any(ch in b for ch in "*?[")
                if (glob and fnmatch.fnmatchcase(new["name"], b)) or (not glob and b == new["name"]):
                    hit = glob
                    break
            if hit is None:
                continue
            commits = c.get("commits") or []
            calls.append({
                "path": "/api/1/deployments/%s/%s/register_deploy" % (d["org"], d["deployment"]),
                "sha": new["target"]["hash"],
                "environment": d.get("environment", "production"),
                "branch": new["name"] if hit else None,
                "commits": [x["hash"] for x in commits] if commits and not c.get("truncated") else None,
                # what tells whether the list is exactly old..new (issue 12)
                "old": ((c.get("old") or {}).get("target") or {}).get("hash"),
                "update": bool(c.get("old")) and not c.get("created") and not c.get("forced")
                          and not c.get("truncated"),
                "parents": [(x["hash"], [p["hash"] for p in x.get("parents") or []]) for x in commits],
            })
    return calls


def exact_list(w, last):
    """The payload's list is old..new: an update from `last`, headed by the
    new sha, closed under parents down to old (a second implementation of
    deploy/commit_plan.c's rule)."""
    if not w["update"] or not w["commits"] or w["old"] != last or w["commits"][0] != w["sha"]:
        return False
    listed = {h for h, _ in w["parents"]}
    if w["old"] in listed:
        return False
    reaches = False
    for _, parents in w["parents"]:
        if not parents:
            return False
        for p in parents:
            if p == w["old"]:
                reaches = True
            elif p not in listed:
                return False
    return reaches


def setup(extra="", deployments=DEPLOYMENTS, prefix="bstest"):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, deployments, prefix=prefix, extra=extra))
    return redis, sleuth, bs


def key(prefix, name):
    return "{%s}:%s" % (prefix, name)


def counters(redis, prefix="bstest"):
    """The durable counters `bitsleuth stats` shows ({p}:stats)."""
    h = redis.cmd("HGETALL", key(prefix, "stats")) or []
    return {k.decode(): int(v) for k, v in zip(h[::2], h[1::2])}


def test_every_cloud_push_fixture_reaches_sleuth():
    redis, sleuth, bs = setup()
    try:
        seen = set()
        want = []
        for path, ev, _ in H.fixtures("repo:push", "cloud"):
            body = H.read_fixture(path)
            payload = json.loads(body)
            calls = expected_calls(payload, seen)
            status, js, raw, _ = bs.post(ev, body)
            if not payload["push"]["changes"]:
                assert status == 202 and js["status"] == "ignored", (path, status, raw)
                continue
            if calls is None:
                assert status == 200 and js["status"] == "duplicate", (path, status, raw)
                continue
            assert status == 202, (path, status, raw)
            assert js["status"] == "queued" and js["job"] and js["delivery"], (path, js)
            assert isinstance(js["issues"], list)
            want.extend(calls)
        assert want, "the fixtures must hit some deployments"
        # Each wanted registration ends registered or, when a retry of it
        # came due after a newer push to the same target was registered
        # (Sleuth slow to accept on a loaded machine), superseded: what the
        # product promises is that every one is accounted for, in push
        # order per target, and none is sent twice.

        def done():
            c = counters(redis)
            return c.get("registered", 0) + c.get("superseded", 0) >= len(want) and H.settled(redis)

        def short():
            c = counters(redis)
            return ("%d registrations (registered + superseded); registered %d, superseded %d, "
                    "%d requests at the stand-in, retried %d, dead %d"
                    % (len(want), c.get("registered", 0), c.get("superseded", 0), len(sleuth.requests),
                       c.get("retried", 0), c.get("dead", 0)))
        H.wait_for(done, 60, what=short)
        time.sleep(0.5)  # nothing more may arrive
        got = sleuth.answered(200)
        c = counters(redis)
        n_registered, n_superseded = c.get("registered", 0), c.get("superseded", 0)
        assert n_registered + n_superseded == len(want), short()
        assert len(got) == n_registered, ("sent twice, or sent and not counted", short())

        def target(x):
            return (x["path"], x["environment"])
        registered_at = {}      # index in want -> arrival index at the stand-in
        for i, w in enumerate(want):
            match = [j for j, r in enumerate(got) if r["path"] == w["path"] and r["json"]["sha"] == w["sha"]
                     and r["json"]["environment"] == w["environment"]]
            assert len(match) <= 1, ("repeated", w)
            if match:
                registered_at[i] = match[0]
        skipped = [i for i in range(len(want)) if i not in registered_at]
        assert len(skipped) == n_superseded, ("missing", [want[i] for i in skipped], short())
        for i in skipped:
            newer = [k for k in registered_at if k > i and target(want[k]) == target(want[i])]
            assert newer, ("lost: not registered, and no newer push to its target was", want[i])
        # Sleuth never saw an older push after a newer one for one target.
        for t in {target(w) for w in want}:
            mine = sorted((registered_at[i], i) for i in registered_at if target(want[i]) == t)
            assert [i for _, i in mine] == sorted(i for _, i in mine), ("out of push order", t, mine)
        if n_superseded:
            print("  %d of %d registrations superseded by a newer push to their target"
                  % (n_superseded, len(want)), flush=True)
        # Without API credentials the payload's list is sent only when it is
        # provably the commits since the target's last registered sha
        # (deploy/commit_plan.h): else none, never ancestors.
        last_of, expect_commits = {}, {}
        for i in sorted(registered_at, key=lambda i: registered_at[i]):
            w = want[i]
            last = last_of.get(target(w))
            expect_commits[i] = w["commits"] if last and exact_list(w, last) else None
            last_of[target(w)] = w["sha"]
        for i in sorted(registered_at):
            w, r = want[i], got[registered_at[i]]
            b = r["json"]
            assert r["headers"]["authorization"] == "Bearer " + H.TOKEN
            assert r["headers"]["content-type"].startswith("application/json")
            assert b["ignore_if_duplicate"] == "true"
            assert b.get("branch") == w["branch"], (w, b)
            # both products: UTC to the millisecond (Cloud: the time received)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", b["date"]), b["date"]
            if expect_commits[i] is None:
                assert "commits" not in b, ("an unproven list must not be sent", w)
            else:
                assert [c["revision"] for c in b["commits"]] == expect_commits[i], (w, b["commits"])
                for c in b["commits"]:
                    assert c["message"] is not None and c["author"]["name"]
        # Every job was acknowledged and removed; nothing pending or retried.
        H.wait_for(lambda: redis.cmd("XLEN", key("bstest", "jobs")) == 0, 10, what="stream drained")
        assert redis.cmd("ZCARD", key("bstest", "retry")) == 0
        assert redis.cmd("XLEN", key("bstest", "dead")) == 0
    finally:
        H.shutdown(redis, sleuth, bs)


def dc_headers():
    return {"X-Request-Id": hashlib.md5(str(time.time()).encode()).hexdigest()}


def test_every_fixture_gets_the_right_answer():
    """All 83 payloads, with their X-Event-Key, as their product sends them."""
    redis, sleuth, bs = setup()
    try:
        used_push = {"repo:push", "repo:refs_changed", "mirror:repo_synchronized"}
        for path, ev, product in H.fixtures():
            body = H.read_fixture(path)
            if product == "dc":
                st, js, raw, _ = bs.post(ev, body, headers=dc_headers(), delivery=False)
            else:
                st, js, raw, _ = bs.post(ev, body)
            assert js is not None, (path, raw)
            if ev == "diagnostics:ping":
                assert st == 200 and js["status"] == "ok", (path, st, js)
            elif ev.startswith("pullrequest:") or ev.startswith("pr:") or ev in used_push:
                assert st in (200, 202), (path, st, js)
                assert js["status"] in ("queued", "duplicate", "ignored"), (path, js)
                if js["status"] == "ignored":
                    # an empty push; a mirror sync over the ref limit says so
                    over = json.loads(body).get("refLimitExceeded") is True
                    want_reason = "refLimitExceeded" if over else "without changes"
                    assert want_reason in js["reason"], (path, js)
            else:
                assert st == 202 and js["status"] == "ignored", (path, st, js)
        H.wait_for(lambda: H.settled(redis), 60, what="every job finished (stream, retry set, pending)")
        assert redis.cmd("XLEN", key("bstest", "dead")) == 0
    finally:
        H.shutdown(redis, sleuth, bs)


def test_bad_input_leaves_no_trace():
    redis, sleuth, bs = setup(extra="http:\n  max_body: 300KiB\n")
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        before = redis.cmd("DBSIZE")
        cases = [
            ("bad signature", dict(body=body, secret="wrong"), 401, "bad_signature"),
            ("no signature", dict(body=body, sign=False), 401, "bad_signature"),
            ("sha1 signature", dict(body=body, sign=False, headers={
                "X-Hub-Signature": "sha1=" + hmac.new(H.SECRET.encode(), body, hashlib.sha1).hexdigest()}),
             401, "unsupported_signature"),
            ("malformed JSON", dict(body=body[:-5]), 400, "bad_json"),
            ("trailing garbage", dict(body=body + b"{}"), 400, "bad_json"),
            ("invalid UTF-8", dict(body=body.replace(b"master", b"mas\xc0\xafer", 1)), 400, "bad_utf8"),
            ("lone surrogate escape", dict(body=body.replace(b"\"master\"", b"\"m\\ud800\"", 1)), 400, "bad_utf8"),
            ("oversized", dict(body=b"{\"x\":\"" + b"a" * (400 * 1024) + b"\"}"), 413, "too_large"),
            ("wrong content type", dict(body=body, content_type="text/plain"), 415, "unsupported_media_type"),
            ("not a push payload", dict(body=b"{\"repository\":{}}"), 400, "bad_payload"),
            ("deep nesting", dict(body=b"[" * 5000 + b"]" * 5000), 400, None),
        ]
        for name, kw, want_status, want_code in cases:
            st, js, raw, hdrs = bs.post("repo:push", **kw)
            assert st == want_status, (name, st, raw)
            assert js and "error" in js and js["reason"], (name, raw)
            assert raw.count(b"\n") == 1 and raw.endswith(b"\n"), ("one-line JSON", name, raw)
            if want_code:
                assert js["error"] == want_code, (name, js)
        st, js, raw, _ = bs.post("repo:push", body, path="/nope")
        assert st == 404, raw
        assert redis.cmd("DBSIZE") == before, "a refused delivery wrote to redis"
        assert sleuth.requests == []
        st, _, metrics, _ = bs.get("/metrics")
        assert st == 200
        m = H.parse_metrics(metrics)
        # wrong, missing, sha1
        assert m.get(H.series("bitsleuth_deliveries_total", product="cloud", event="repo:push",
                              outcome="signature")) == 3, metrics
        assert H.total(m, "bitsleuth_deliveries_total", outcome="too_large") == 1, metrics
        assert m.get(H.series("bitsleuth_http_refused_total", reason="not_found")) == 1, metrics
    finally:
        H.shutdown(redis, sleuth, bs)


def test_header_size_and_timeout_limits_are_enforced():
    """http.max_headers and http.timeout_ms are set on the server: an
    oversized header block is refused, an idle or slow connection is cut."""
    import socket
    redis, sleuth, bs = setup(extra="http:\n  max_headers: 4KiB\n  timeout_ms: 800\n  idle_timeout_ms: 800\n")
    try:

        def raw_request(data, wait=5.0):
            s = socket.create_connection(("127.0.0.1", bs.port), timeout=wait)
            try:
                s.sendall(data)
                got = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return got
                    got += chunk
            finally:
                s.close()

        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        big = (b"POST /hooks/bitbucket HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"X-Event-Key: repo:push\r\nX-Padding: " + b"a" * 8192 + b"\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body)
        got = raw_request(big)
        assert got.startswith(b"HTTP/1.1 431 "), got[:200]
        assert b'"error":"headers_too_large"' in got, got
        # Headers sent, body never completes: 408 after about timeout_ms.
        t0 = time.time()
        got = raw_request(b"POST /hooks/bitbucket HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"X-Event-Key: repo:push\r\nContent-Length: 1000\r\n\r\n{\"a\":", wait=10)
        took = time.time() - t0
        # Not a speed test: a server without the timeout never closes, and
        # the client's own 10 s timeout would raise instead.
        assert took < 9.5, "slow body not cut off by http.timeout_ms (%.1fs)" % took
        assert got.startswith(b"HTTP/1.1 408 "), got[:200]
        assert b'"error":"request_timeout"' in got, got
        # An idle connection that sends nothing is closed too.
        t0 = time.time()
        raw_request(b"", wait=10)
        assert time.time() - t0 < 9.5, "idle connection not closed"
        assert redis.cmd("XLEN", "{bstest}:jobs") == 0, "a refused delivery was queued"
        # The server still works afterwards.
        assert bs.post("repo:push", body)[0] == 202
    finally:
        H.shutdown(redis, sleuth, bs)


def test_duplicate_delivery_is_queued_once():
    redis, sleuth, bs = setup()
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        st1, js1, _, _ = bs.post("repo:push", body, delivery="{dup-1}")
        st2, js2, _, _ = bs.post("repo:push", body, delivery="{dup-1}")
        assert st1 == 202 and js1["status"] == "queued"
        assert st2 == 200 and js2["status"] == "duplicate" and js2["job"] == js1["job"], js2
        # Same content under a new delivery id that names no webhook (it may be
        # another webhook's copy, see test_dedupe.py): also one job.
        st3, js3, _, _ = bs.post("repo:push", body, delivery="{dup-2}")
        assert st3 == 200 and js3["status"] == "duplicate", js3
        H.wait_for(lambda: len(sleuth.requests) >= 1, 30, what="registration")
        time.sleep(0.5)
        assert len(sleuth.requests) == 1
        # The raw delivery is kept for replay.
        raw = redis.cmd("HGETALL", key("bstest", "raw:{dup-1}"))
        assert raw and b"body" in raw, raw
    finally:
        H.shutdown(redis, sleuth, bs)


def test_issue_keys_in_answer():
    redis, sleuth, bs = setup()
    try:
        payload = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
        payload["push"]["changes"][0]["commits"][0]["message"] = "SHOP-12 fix UTF-8 and OPS-7\n"
        payload["push"]["changes"][0]["new"]["name"] = "master"
        st, js, raw, _ = bs.post("repo:push", json.dumps(payload))
        assert st == 202, raw
        assert js["issues"] == ["SHOP-12", "OPS-7"] or js["issues"] == ["SHOP-12", "UTF-8", "OPS-7"], js
    finally:
        H.shutdown(redis, sleuth, bs)


def test_redis_down_answers_503_then_recovers():
    redis, sleuth, bs = setup()
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        redis.kill()
        H.wait_for(lambda: bs.get("/readyz")[0] == 503, 10, what="readyz false")
        st, js, raw, _ = bs.post("repo:push", body, delivery="{outage-1}")
        assert st == 503 and js["error"] == "queue_unavailable", raw
        redis.start()
        H.wait_for(lambda: bs.get("/readyz")[0] == 200, 15, what="readyz true")
        st, js, raw, _ = bs.post("repo:push", body, delivery="{outage-1}")
        assert st == 202, raw
        H.wait_for(lambda: len(sleuth.requests) == 1, 30, what="registration after recovery")
    finally:
        H.shutdown(redis, sleuth, bs)


def test_dry_run_sends_nothing_and_records():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    cfg = H.make_config(redis.port, sleuth.url, DEPLOYMENTS).replace("dry_run: false", "dry_run: true")
    bs = H.Bitsleuth(cfg)
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        st, js, raw, _ = bs.post("repo:push", body)
        assert st == 202, raw
        H.wait_for(lambda: redis.cmd("XLEN", key("bstest", "dryrun")) == 1, 10, what="dry-run record")
        entry = redis.cmd("XRANGE", key("bstest", "dryrun"), "-", "+")[0][1]
        fields = dict(zip(entry[::2], entry[1::2]))
        assert fields[b"url"].endswith(b"/api/1/deployments/acme/foo-web/register_deploy"), fields
        assert json.loads(fields[b"body"])["environment"] == "production"
        time.sleep(0.3)
        assert sleuth.requests == []
        assert "dry-run" in bs.log()
    finally:
        H.shutdown(redis, sleuth, bs)


def test_health_endpoints_and_drain():
    redis, sleuth, bs = setup()
    try:
        assert bs.get("/healthz")[0] == 200
        assert bs.get("/readyz")[0] == 200
        st, _, m, hdrs = bs.get("/metrics")
        assert st == 200 and b"# TYPE bitsleuth_deliveries_total counter" in m
        assert bs.post("repo:push", b"{}", path="/healthz")[0] == 405
    finally:
        H.shutdown(redis, sleuth, bs)


def test_secret_rotation_accepts_both_secrets_and_counts_which():
    """bitbucket.secret_previous_env: during a rotation deliveries signed
    with the old or the new secret are queued, a third secret is not, and
    /metrics tells the operator which secret each one used."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    text = H.make_config(redis.port, sleuth.url, DEPLOYMENTS,
                         extra="queue:\n  content_dedupe: false\n")
    text = text.replace("  secret_env: BS_IT_SECRET\n",
                        "  secret_env: BS_IT_SECRET\n  secret_previous_env: BS_IT_SECRET_OLD\n")
    bs = H.Bitsleuth(text, mode="serve", env_extra={"BS_IT_SECRET_OLD": "the-old-secret"})
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        for secret, want in ((H.SECRET, 202), ("the-old-secret", 202), ("a-third-secret", 401),
                             ("the-old-secret", 202)):
            st, js, raw, _ = bs.post("repo:push", body, secret=secret)
            assert st == want, (secret, st, raw)
        st, _, metrics, _ = bs.get("/metrics")
        assert b'bitsleuth_signatures_total{secret="current"} 1\n' in metrics, metrics
        assert b'bitsleuth_signatures_total{secret="previous"} 2\n' in metrics, metrics
        assert redis.cmd("XLEN", key("bstest", "jobs")) == 3
    finally:
        H.shutdown(redis, sleuth, bs)


def test_several_orgs_tokens_and_per_deployment_dry_run():
    """One push hits three deployments: two organisations with their own
    tokens, and one rolled out in dry-run only."""
    deps = [
        {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"},
        {"org": "globex", "deployment": "foo", "repository": "brydzewski/foo", "branch": ["main", "master"],
         "environment": "prod", "token_env": "BS_IT_TOKEN_GLOBEX"},
        {"org": "acme", "deployment": "foo-new", "repository": "brydzewski/foo", "branch": "master",
         "dry_run": True},
    ]
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    # A 4,000-byte token: sent whole (it once went through a fixed 1,100-byte buffer).
    long_token = "globex-" + "t0K" * 1331
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, deps), env_extra={"BS_IT_TOKEN_GLOBEX": long_token})
    try:
        st, js, raw, _ = bs.post("repo:push", H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
        assert st == 202, raw
        H.wait_for(lambda: len(sleuth.requests) == 2, 30, what="two real registrations")
        H.wait_for(lambda: redis.cmd("XLEN", key("bstest", "dryrun")) == 1, 10, what="one dry-run record")
        time.sleep(0.3)
        by_path = {r["path"]: r for r in sleuth.requests}
        acme = by_path["/api/1/deployments/acme/foo-web/register_deploy"]
        globex = by_path["/api/1/deployments/globex/foo/register_deploy"]
        assert acme["headers"]["authorization"] == "Bearer " + H.TOKEN
        assert globex["headers"]["authorization"] == "Bearer " + long_token, len(globex["headers"]["authorization"])
        assert globex["json"]["environment"] == "prod" and acme["json"]["sha"] == globex["json"]["sha"]
        assert "/acme/foo-new/" not in "".join(by_path), "a dry-run deployment must not be sent"
        entry = redis.cmd("XRANGE", key("bstest", "dryrun"), "-", "+")[0][1]
        fields = dict(zip(entry[::2], entry[1::2]))
        assert fields[b"target"] == b"acme/foo-new/production", fields
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
