"""Push order per target (the lanes of queue/lanes.h), through the real
binary: a failing push keeps its lane and the next push waits for it, one
target's registrations go out one at a time and in push order even across
worker processes, a hanging target does not delay another target, and
worker.order_hold bounds the wait (the held push is then superseded)."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

FAST_RETRY = "retry:\n  base: 100ms\n  cap: 1s\n"
BASE = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
WEB = {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}
API = {"org": "acme", "deployment": "foo-api", "repository": "brydzewski/foo", "branch": "master"}
WEB_PATH = "/api/1/deployments/acme/foo-web/register_deploy"
API_PATH = "/api/1/deployments/acme/foo-api/register_deploy"
SHA_A = "a" * 40
SHA_B = "b" * 40


def push_body(sha):
    p = json.loads(json.dumps(BASE))
    p["push"]["changes"][0]["new"]["target"]["hash"] = sha
    return json.dumps(p).encode()


def key(name):
    return "{bstest}:%s" % name


def cli(bs, *args):
    out = subprocess.run([H.BIN] + list(args) + ["-c", bs.config], env=bs.env, capture_output=True,
                         timeout=60)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def stats(bs):
    rc, out, err = cli(bs, "stats", "--json")
    assert rc == 0, err
    return json.loads(out)


def sent(sleuth, path=None, sha=None):
    with sleuth.lock:
        return [r for r in sleuth.requests
                if (path is None or r["path"] == path) and (sha is None or (r["json"] or {}).get("sha") == sha)]


def test_failing_head_blocks_its_lane_and_the_next_push_follows_it():
    """A push whose registration fails keeps its lane: the next push to the
    target waits (parked, not polled) until the failed one is registered on
    its retry, then goes. Nothing is superseded."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    first_a = threading.Event()

    def responder(req):
        sha = (req["json"] or {}).get("sha")
        if sha == SHA_A and not first_a.is_set():
            first_a.set()
            return (503, "busy", {"Retry-After": "2"})
        return (200, "Success", {})
    sleuth.responder = responder
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [WEB], extra=FAST_RETRY))
    try:
        st, js_a, _, _ = bs.post("repo:push", push_body(SHA_A), delivery="{push-a}")
        assert st == 202, js_a
        H.wait_for(lambda: redis.cmd("ZCARD", key("retry")) == 1, 10, what="A in the retry set")
        st, js_b, _, _ = bs.post("repo:push", push_body(SHA_B), delivery="{push-b}")
        assert st == 202, js_b
        # B is parked behind A (its successor waits in the lane, not in the stream).
        lane = "acme/foo-web/production"
        H.wait_for(lambda: redis.cmd("HLEN", key("lanep:" + lane)) == 1, 10, what="B parked")
        assert not sent(sleuth, sha=SHA_B), "B must wait for A"
        H.wait_for(lambda: H.settled(redis), 25, what="A retried, then B")
        seq = [(r["json"]["sha"], r["answered"]) for r in sent(sleuth)]
        assert seq == [(SHA_A, 503), (SHA_A, 200), (SHA_B, 200)], seq
        s = stats(bs)
        assert s["counters"].get("superseded", 0) == 0, s
        assert s["counters"]["registered"] == 2, s
        assert redis.cmd("XLEN", key("dead")) == 0
        order = redis.cmd("HGET", key("order"), lane)
        assert order is not None and order.decode() == js_b["job"], (order, js_b)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_hanging_target_does_not_delay_another_and_one_target_is_serial():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    hung = []

    def responder(req):
        if req["path"] == WEB_PATH and not hung:
            hung.append(req)
            return "hang"
        return (200, "Success", {})
    sleuth.responder = responder
    # foo-web's call hangs until sleuth.timeout_ms: 8 s, far longer than
    # foo-api needs even on a slow machine.
    cfg = H.make_config(redis.port, sleuth.url, [WEB, API], extra=FAST_RETRY, sleuth_timeout_ms=8000)
    bs = H.Bitsleuth(cfg)
    try:
        t0 = time.time()
        assert bs.post("repo:push", push_body(SHA_A), delivery="{p-1}")[0] == 202
        H.wait_for(lambda: hung, 10, what="foo-web to hang")
        assert bs.post("repo:push", push_body(SHA_B), delivery="{p-2}")[0] == 202
        # foo-api gets both pushes, in order, while foo-web hangs.
        H.wait_for(lambda: len(sleuth.answered(200)) == 2, 10, what="foo-api registrations")
        took = time.time() - t0
        assert took < 7.0, "foo-api waited for the hanging foo-web (%.1fs)" % took
        api = sent(sleuth, path=API_PATH)
        assert [r["json"]["sha"] for r in api] == [SHA_A, SHA_B], api
        # One foo-web registration at a time: B's waits behind the hung A.
        web = sent(sleuth, path=WEB_PATH)
        assert [r["json"]["sha"] for r in web] == [SHA_A], [r["json"]["sha"] for r in web]
        # A times out (retry), is registered on its retry, and only then B goes.
        H.wait_for(lambda: sent(sleuth, path=WEB_PATH, sha=SHA_B), 20, what="foo-web B sent after A")
        assert time.time() - t0 >= 7.5, "foo-web B must wait for A's call to end"
        H.wait_for(lambda: H.settled(redis), 15, what="queue empty")
        web = sent(sleuth, path=WEB_PATH)
        assert [(r["json"]["sha"], r["answered"]) for r in web] == \
            [(SHA_A, None), (SHA_A, 200), (SHA_B, 200)], [(r["json"]["sha"], r["answered"]) for r in web]
        assert redis.cmd("XLEN", key("dead")) == 0
        s = stats(bs)
        assert s["counters"]["registered"] == 4 and s["counters"].get("superseded", 0) == 0, s
    finally:
        H.shutdown(redis, sleuth, bs)


def test_hold_releases_a_failing_head_and_its_late_success_is_superseded():
    """worker.order_hold bounds how long a failing head blocks its lane:
    past it the next push goes; the held push keeps its retries, and when
    one comes due after the newer push was registered it is not sent but
    dead-lettered as superseded, which an operator may still replay."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    broken = [True]

    def responder(req):
        if (req["json"] or {}).get("sha") == SHA_A and broken[0]:
            return (500, "oops", {})
        return (200, "Success", {})
    sleuth.responder = responder
    extra = "retry:\n  base: 300ms\n  cap: 600ms\nworker:\n  order_hold: 2s\n"
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [WEB], extra=extra))
    try:
        assert bs.post("repo:push", push_body(SHA_A), delivery="{hold-a}")[0] == 202
        H.wait_for(lambda: sent(sleuth, sha=SHA_A), 10, what="A's first attempt")
        t_b = time.time()
        assert bs.post("repo:push", push_body(SHA_B), delivery="{hold-b}")[0] == 202
        H.wait_for(lambda: sent(sleuth, sha=SHA_B), 20, what="B sent once A's hold is over")
        waited = time.time() - t_b
        assert waited >= 1.9, "B went before worker.order_hold (%.2fs)" % waited
        assert [r["answered"] for r in sent(sleuth, sha=SHA_B)] == [200]
        tries_before = len(sent(sleuth, sha=SHA_A))
        assert tries_before >= 2, "A kept retrying while it held the lane"
        broken[0] = False
        H.wait_for(lambda: redis.cmd("XLEN", key("dead")) == 1, 20, what="A dead-lettered as superseded")
        H.wait_for(lambda: H.settled(redis), 10, what="queue settled")
        assert len(sent(sleuth, sha=SHA_A)) == tries_before, "A's late retry must not be sent"
        rc, out, err = cli(bs, "dlq", "list", "--json")
        assert rc == 0, err
        dead = json.loads(out)
        assert len(dead) == 1 and dead[0]["reason"].startswith("superseded"), dead
        assert dead[0]["target"] == "acme/foo-web/production", dead
        s = stats(bs)
        assert s["counters"]["superseded"] == 1 and s["counters"]["lanes_released"] == 1, s
        # An operator who knows better replays it: it joins the lane's tail
        # as a new push and is registered.
        rc, out, err = cli(bs, "dlq", "replay", dead[0]["id"])
        assert rc == 0, err
        H.wait_for(lambda: [r["answered"] for r in sent(sleuth, sha=SHA_A)][-1:] == [200], 15,
                   what="the replayed push registered")
        H.wait_for(lambda: H.settled(redis), 10, what="queue settled after the replay")
    finally:
        H.shutdown(redis, sleuth, bs)


def test_two_worker_processes_take_turns_in_push_order():
    """Two `work` processes share one target: Sleuth never sees two
    registrations of it at once, never an older push after a newer one, and
    every push is registered (none superseded)."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    spans = []
    lock = threading.Lock()

    def slow(req):
        t0 = time.time()
        time.sleep(0.4)
        with lock:
            spans.append((t0, time.time(), req["json"]["sha"]))
        return (200, "Success", {})
    sleuth.responder = slow
    # One job at a time per worker, so that both workers hold jobs of the
    # target at once.
    cfg = H.make_config(redis.port, sleuth.url, [WEB], extra=FAST_RETRY + "worker:\n  concurrency: 1\n")
    ingest = H.Bitsleuth(cfg, mode="serve")
    w1 = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, consumer="w1")
    w2 = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, consumer="w2")
    n = 8
    shas = ["%040x" % (0xc0de00 + i) for i in range(n)]
    try:
        for i in range(n):
            assert ingest.post("repo:push", push_body(shas[i]), delivery="{two-%d}" % i)[0] == 202
        H.wait_for(lambda: H.settled(redis), 60, what="all jobs finished (stream, retry set, pending)")
        rc, out, err = cli(ingest, "stats", "--json")
        assert rc == 0, err
        superseded = json.loads(out)["counters"].get("superseded", 0)
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            assert b[0] >= a[1] - 0.05, ("two registrations of one target at once", a, b)
        order = [shas.index(sp[2]) for sp in spans]
        assert order == sorted(order), ("Sleuth saw an older push after a newer one", order)
        assert order == list(range(n)) and superseded == 0, (order, superseded)
        assert "claimed" not in w1.log() + w2.log()
        took = [w.log().count("registered sha") for w in (w1, w2)]
        assert took[0] and took[1], ("both workers must have worked on the target", took)
        print("  two workers: registered %s, superseded %d, jobs per worker %s" % (order, superseded, took))
    finally:
        H.shutdown(redis, sleuth, ingest, w1, w2)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
