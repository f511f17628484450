"""Push order per target, through the real binary: a retry of an older push
is not sent once a newer push to the same target was registered (it is
counted as superseded), one target's registrations go out one at a time, and
a hanging target does not delay another target."""
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


def test_older_retry_is_superseded_by_newer_registered_push():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    first_a = threading.Event()

    def responder(req):
        sha = (req["json"] or {}).get("sha")
        if sha == SHA_A and not first_a.is_set():
            first_a.set()
            # Retry-After keeps A's retry away until B is surely registered
            # (5 s: room for a slow CI machine).
            return (503, "busy", {"Retry-After": "5"})
        return (200, "Success", {})
    sleuth.responder = responder
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [WEB], extra=FAST_RETRY))
    try:
        st, js, _, _ = bs.post("repo:push", push_body(SHA_A), delivery="{push-a}")
        assert st == 202, js
        H.wait_for(lambda: sent(sleuth, sha=SHA_A), 10, what="A's first send")
        H.wait_for(lambda: redis.cmd("ZCARD", key("retry")) == 1, 10, what="A in the retry set")
        st, js, _, _ = bs.post("repo:push", push_body(SHA_B), delivery="{push-b}")
        assert st == 202, js
        H.wait_for(lambda: sleuth.answered(200), 10, what="B registered")
        assert redis.cmd("ZCARD", key("retry")) == 1, "B must be registered before A's retry is due"
        # A's retry comes due (>= 5 s) and must not be sent.
        H.wait_for(lambda: H.settled(redis), 25, what="A's retry taken and acknowledged")
        H.wait_for(lambda: stats(bs)["counters"].get("superseded") == 1, 10, what="superseded counted")
        time.sleep(0.5)
        a, b = sent(sleuth, sha=SHA_A), sent(sleuth, sha=SHA_B)
        assert [r["answered"] for r in a] == [503], [r["answered"] for r in a]
        assert [r["answered"] for r in b] == [200], [r["answered"] for r in b]
        assert len(sleuth.requests) == 2
        assert redis.cmd("XLEN", key("dead")) == 0
        s = stats(bs)
        assert s["counters"]["superseded"] == 1, s
        assert s["counters"]["registered"] == 1, s
        # The target's newest registered push is B's stream id.
        order = redis.cmd("HGET", key("order"), "acme/foo-web/production")
        assert order is not None and order.decode() == js["job"], (order, js)
        assert "superseded" in bs.log()
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
        # A times out (retry), then B goes and is registered; A's retry is superseded.
        H.wait_for(lambda: sent(sleuth, path=WEB_PATH, sha=SHA_B), 20, what="foo-web B sent after A's timeout")
        assert time.time() - t0 >= 7.5, "foo-web B must wait for A's call to end"
        H.wait_for(lambda: H.settled(redis), 15, what="queue empty")
        H.wait_for(lambda: stats(bs)["counters"].get("superseded") == 1, 10, what="superseded counted")
        web = sent(sleuth, path=WEB_PATH)
        assert [(r["json"]["sha"], r["answered"]) for r in web] == [(SHA_A, None), (SHA_B, 200)], \
            [(r["json"]["sha"], r["answered"]) for r in web]
        assert redis.cmd("XLEN", key("dead")) == 0
        assert stats(bs)["counters"]["registered"] == 3
    finally:
        H.shutdown(redis, sleuth, bs)


def test_two_worker_processes_take_turns_in_push_order():
    """Two `work` processes share one target: Sleuth never sees two
    registrations of it at once, and never an older push after a newer one;
    every push is registered or superseded, the newest one registered."""
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
        assert len(spans) + superseded == n, (len(spans), superseded)
        assert order[-1] == n - 1, "the newest push must be registered"
        assert "claimed" not in w1.log() + w2.log()
        took = [w.log().count("registered sha") + w.log().count("superseded)") for w in (w1, w2)]
        assert took[0] and took[1], ("both workers must have worked on the target", took)
        print("  two workers: registered %s, superseded %d, jobs per worker %s" % (order, superseded, took))
    finally:
        H.shutdown(redis, sleuth, ingest, w1, w2)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
