"""What a duplicate is, through the real binary (README "Events",
ingest/intake.h): a repeat of a delivery id is Bitbucket's automatic retry
(a duplicate) unless it is a resend (X-Attempt-Number > 1) of a copy queued
longer ago than queue.content_dedupe_window (a manual Resend: queued again);
the same content from another webhook of the repository (another
X-Hook-UUID) is a duplicate within the window, from the same webhook a new
event (A->B, B->A, A->B registers three deploys); Data Center, which names
no webhook, tells the same event sent twice (same date) from a repeat push
(new date) by the payload's own date.

The A/B pushes are real fixtures (tests/fixtures/bitbucket/) with their
hashes changed, signed with the test secret. Nothing waits for a clock
except the manual Resend after a 1 s window, which sleeps past it."""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

PREFIX = "bstest"
CLOUD = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))      # repo:push
DC = json.loads(H.read_fixture("drone-go-scm/dc_repo-refs_changed_branch-add.json"))  # repo:refs_changed
WEB = {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}
DCWEB = {"org": "acme", "deployment": "dc-web", "repository": "PRJ/my-repo", "branch": "develop"}
SHA_A = "a" * 40
SHA_B = "b" * 40
HOOK_1 = "{11111111-1111-4111-8111-111111111111}"
HOOK_2 = "{22222222-2222-4222-8222-222222222222}"


def cloud_push(old, new):
    """The Cloud fixture as a push of master from old to new."""
    p = json.loads(json.dumps(CLOUD))
    c = p["push"]["changes"][0]
    c["old"]["target"]["hash"] = old
    c["new"]["target"]["hash"] = new
    return json.dumps(p).encode()


def dc_push(old, new, date):
    """The Data Center fixture as an UPDATE of develop from old to new, dated
    `date` (the event's own time, as DC sends it)."""
    p = json.loads(json.dumps(DC))
    p["date"] = date
    c = p["changes"][0]
    c.update({"type": "UPDATE", "fromHash": old, "toHash": new})
    return json.dumps(p).encode()


def post_cloud(bs, body, delivery, hook, attempt="1"):
    """As Bitbucket Cloud sends it: X-Request-UUID, X-Hook-UUID,
    X-Attempt-Number, signed."""
    st, js, raw, _ = bs.post("repo:push", body, delivery=delivery,
                             headers={"X-Hook-UUID": hook, "X-Attempt-Number": attempt})
    assert js is not None, raw
    return st, js


def post_dc(bs, body, request_id):
    """As Data Center sends it: X-Request-Id, no hook id, no attempt number."""
    st, js, raw, _ = bs.post("repo:refs_changed", body, delivery=False,
                             headers={"X-Request-Id": request_id})
    assert js is not None, raw
    return st, js


def queued(st, js):
    return st == 202 and js["status"] == "queued"


def duplicate_of(st, js, job):
    return st == 200 and js["status"] == "duplicate" and js["job"] == job


def counters(redis):
    h = redis.cmd("HGETALL", "{%s}:stats" % PREFIX) or []
    return {k.decode(): int(v) for k, v in zip(h[::2], h[1::2])}


def start(extra=""):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [WEB, DCWEB], prefix=PREFIX, extra=extra))
    return redis, sleuth, bs


def registered(redis, sleuth, n, what):
    """Waits for n registrations and every job finished; returns the shas in
    the order the stand-in received them."""
    H.wait_for(lambda: len(sleuth.answered(200)) >= n and H.settled(redis, PREFIX), 30, what=what)
    time.sleep(0.3)   # nothing more may arrive
    return [r["json"]["sha"] for r in sleuth.requests]


def test_force_push_cycle_from_one_webhook_registers_every_push():
    """A->B, B->A, A->B from one webhook: three deliveries, three deploys,
    in push order; the third has the first's content and is not swallowed."""
    redis, sleuth, bs = start()
    try:
        jobs = []
        for i, (old, new) in enumerate([(SHA_A, SHA_B), (SHA_B, SHA_A), (SHA_A, SHA_B)]):
            st, js = post_cloud(bs, cloud_push(old, new), "{cycle-%d}" % i, HOOK_1)
            assert queued(st, js), (i, st, js)
            jobs.append(js["job"])
        assert len(set(jobs)) == 3, jobs
        assert registered(redis, sleuth, 3, "three deploys") == [SHA_B, SHA_A, SHA_B]
        c = counters(redis)
        assert c["queued"] == 3 and c.get("duplicates", 0) == 0, c
        # The content key names the newest push and its webhook, for the window only.
        keys = redis.cmd("KEYS", "{%s}:seenc:*" % PREFIX)
        assert len(keys) == 2, keys          # A->B and B->A
        vals = sorted(redis.cmd("GET", k).decode() for k in keys)
        assert sorted(v.split(" ")[0] for v in vals) == sorted([jobs[1], jobs[2]]), (vals, jobs)
        assert all(v.endswith(" " + HOOK_1) for v in vals), vals
        assert all(0 < redis.cmd("TTL", k) <= 600 for k in keys)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_two_webhooks_on_one_repository_are_one_job():
    """The same push from two webhooks (another X-Hook-UUID, another request
    id) is one job, whichever webhook comes first; the next push too."""
    redis, sleuth, bs = start()
    try:
        st, first = post_cloud(bs, cloud_push(SHA_A, SHA_B), "{w1-push1}", HOOK_1)
        assert queued(st, first), first
        st, js = post_cloud(bs, cloud_push(SHA_A, SHA_B), "{w2-push1}", HOOK_2)
        assert duplicate_of(st, js, first["job"]), js
        # The next push, the second webhook first this time.
        st, second = post_cloud(bs, cloud_push(SHA_B, SHA_A), "{w2-push2}", HOOK_2)
        assert queued(st, second), second
        st, js = post_cloud(bs, cloud_push(SHA_B, SHA_A), "{w1-push2}", HOOK_1)
        assert duplicate_of(st, js, second["job"]), js
        # A copy without a webhook id (not from Bitbucket Cloud) could be
        # either webhook's: a duplicate too.
        st, js = bs.post("repo:push", cloud_push(SHA_B, SHA_A), delivery="{nohook}")[:2]
        assert duplicate_of(st, js, second["job"]), js
        assert registered(redis, sleuth, 2, "two deploys") == [SHA_B, SHA_A]
        c = counters(redis)
        assert c["queued"] == 2 and c["duplicates"] == 3, c
        assert redis.cmd("EXISTS", "{%s}:raw:{w2-push1}" % PREFIX) == 0, "a duplicate keeps nothing"
    finally:
        H.shutdown(redis, sleuth, bs)


def test_automatic_retry_of_an_unacknowledged_delivery_is_a_duplicate():
    """Bitbucket did not get our answer (it hung up first) and retries with
    the same X-Request-UUID and X-Attempt-Number 2, then 3: one job."""
    redis, sleuth, bs = start()
    try:
        body = cloud_push(SHA_A, SHA_B)
        # Attempt 1: sent whole, the connection dropped without reading the answer.
        sig = hmac.new(H.SECRET.encode(), body, hashlib.sha256).hexdigest()
        head = ("POST /hooks/bitbucket HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "X-Event-Key: repo:push\r\nX-Request-UUID: {retry-1}\r\nX-Hook-UUID: %s\r\n"
                "X-Attempt-Number: 1\r\nX-Hub-Signature: sha256=%s\r\nContent-Length: %d\r\n\r\n"
                % (HOOK_1, sig, len(body)))
        s = socket.create_connection(("127.0.0.1", bs.port), timeout=5)
        s.sendall(head.encode() + body)
        s.close()
        H.wait_for(lambda: counters(redis).get("queued") == 1, 15, what="attempt 1 queued")
        first = redis.cmd("GET", "{%s}:seen:{retry-1}" % PREFIX).decode()
        for attempt in ("2", "3"):
            st, js = post_cloud(bs, body, "{retry-1}", HOOK_1, attempt=attempt)
            assert duplicate_of(st, js, first), (attempt, st, js)
        assert registered(redis, sleuth, 1, "one deploy") == [SHA_B]
        c = counters(redis)
        assert c["queued"] == 1 and c["duplicates"] == 2, c
    finally:
        H.shutdown(redis, sleuth, bs)


def test_manual_resend_is_queued_again():
    """A manual "Resend request" (same body, X-Attempt-Number > 1): under a
    new request id it is queued at once (the same webhook sent that content
    again); under the same request id once the window has passed since the
    copy we queued (earlier it could be an automatic retry). A repeat of the
    id that claims to be a first attempt stays a duplicate."""
    # A 1 s window: the test sleeps past it instead of waiting 10 minutes.
    redis, sleuth, bs = start(extra="queue:\n  content_dedupe_window: 1s\n")
    try:
        body = cloud_push(SHA_A, SHA_B)
        st, first = post_cloud(bs, body, "{resend-1}", HOOK_1)
        assert queued(st, first), first
        registered(redis, sleuth, 1, "the push")
        # Resend under a new request id: queued (Sleuth's ignore_if_duplicate
        # makes the second registration of B harmless).
        st, js = post_cloud(bs, body, "{resend-2}", HOOK_1, attempt="2")
        assert queued(st, js), js
        registered(redis, sleuth, 2, "the resend under a new id")
        time.sleep(1.5)   # past the window of {resend-1}'s copy
        st, js = post_cloud(bs, body, "{resend-1}", HOOK_1, attempt="1")
        assert duplicate_of(st, js, first["job"]), js
        st, again = post_cloud(bs, body, "{resend-1}", HOOK_1, attempt="2")
        assert queued(st, again) and again["job"] != first["job"], again
        # {resend-1} now names the new job, whose own retry is a duplicate.
        assert redis.cmd("GET", "{%s}:seen:{resend-1}" % PREFIX).decode() == again["job"]
        raw = redis.cmd("HGETALL", "{%s}:raw:{resend-1}" % PREFIX)
        assert dict(zip(raw[::2], raw[1::2]))[b"job"].decode() == again["job"], raw
        st, js = post_cloud(bs, body, "{resend-1}", HOOK_1, attempt="3")
        assert duplicate_of(st, js, again["job"]), js
        assert registered(redis, sleuth, 3, "the resend under the same id") == [SHA_B] * 3
        for r in sleuth.requests:
            assert r["json"]["ignore_if_duplicate"] == "true", r["json"]
        c = counters(redis)
        assert c["queued"] == 3 and c["duplicates"] == 2, c
        # check says that such a short window lets late automatic retries through.
        out = subprocess.run([H.BIN, "check", "-c", bs.config], env=bs.env, capture_output=True, timeout=60)
        assert b"queue.content_dedupe_window (1 s) is below 5 minutes" in out.stderr + out.stdout, out
    finally:
        H.shutdown(redis, sleuth, bs)


def test_data_center_same_event_twice_vs_repeat_push():
    """Data Center names no webhook: the same event from two webhooks has the
    same content and date (a duplicate), a repeat push a new date (queued);
    a repeat of one X-Request-Id is a duplicate."""
    redis, sleuth, bs = start()
    try:
        d1, d2, d3 = "2026-11-30T12:00:00+0000", "2026-11-30T12:00:07+0000", "2026-11-30T13:00:00.000Z"
        st, first = post_dc(bs, dc_push(SHA_A, SHA_B, d1), "dc-req-1")
        assert queued(st, first), first
        # Another webhook on the repository (or the project's): same event.
        st, js = post_dc(bs, dc_push(SHA_A, SHA_B, d1), "dc-req-2")
        assert duplicate_of(st, js, first["job"]), js
        # The same instant written as epoch ms (an older server): same event.
        p = json.loads(dc_push(SHA_A, SHA_B, d1))
        p["date"] = 1796040000000   # 2026-11-30T12:00:00Z
        st, js = post_dc(bs, json.dumps(p).encode(), "dc-req-3")
        assert duplicate_of(st, js, first["job"]), js
        # The same request again.
        st, js = post_dc(bs, dc_push(SHA_A, SHA_B, d1), "dc-req-1")
        assert duplicate_of(st, js, first["job"]), js
        # B->A, then A->B again: new dates, new events.
        st, js = post_dc(bs, dc_push(SHA_B, SHA_A, d2), "dc-req-4")
        assert queued(st, js), js
        st, third = post_dc(bs, dc_push(SHA_A, SHA_B, d3), "dc-req-5")
        assert queued(st, third), third
        st, js = post_dc(bs, dc_push(SHA_A, SHA_B, d3), "dc-req-6")
        assert duplicate_of(st, js, third["job"]), js
        assert registered(redis, sleuth, 3, "three DC deploys") == [SHA_B, SHA_A, SHA_B]
        # Each deploy is dated by its event.
        dates = [r["json"]["date"] for r in sleuth.requests]
        assert dates == ["2026-11-30T12:00:00.000Z", "2026-11-30T12:00:07.000Z",
                         "2026-11-30T13:00:00.000Z"], dates
        c = counters(redis)
        assert c["queued"] == 3 and c["duplicates"] == 4, c
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
