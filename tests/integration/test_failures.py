"""Never lose an event: Sleuth failures, retries, dead letters, killed
workers and a Redis restart, through the real binary."""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

DEPLOY = [{"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}]
FAST_RETRY = "retry:\n  base: 100ms\n  cap: 1s\n  max_attempts: 50\n  slow_delay: 200ms\n"
BASE = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))


def push_body(sha, branch=None):
    p = json.loads(json.dumps(BASE))
    p["push"]["changes"][0]["new"]["target"]["hash"] = sha
    if branch:
        p["push"]["changes"][0]["new"]["name"] = branch
    return json.dumps(p).encode()


def sha(i):
    return ("%040x" % (0xabc0000000 + i))[-40:]


def key(name):
    return "{bstest}:%s" % name


def cli(bs, *args):
    out = subprocess.run([H.BIN] + list(args) + ["-c", bs.config], env=bs.env, capture_output=True,
                         timeout=60)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def registered(sleuth):
    """Distinct (path, sha, environment) Sleuth accepted, as Sleuth's
    ignore_if_duplicate sees them, and the raw count of accepted sends."""
    ok = sleuth.answered(200)
    return {(r["path"], r["json"]["sha"], r["json"]["environment"]) for r in ok}, len(ok)


def start(extra=FAST_RETRY, mode="run", appendonly=False):
    redis = H.RedisServer(appendonly=appendonly)
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, DEPLOY, extra=extra), mode=mode)
    return redis, sleuth, bs


def finish(redis, sleuth, *procs):
    try:
        for p in procs:
            if p.proc.poll() is None:
                rc = p.stop()
                assert rc == 0, p.log()[-3000:]
            p.assert_clean_log()
    finally:
        sleuth.close()
        redis.close()


def test_503_twice_then_200_registers_once():
    redis, sleuth, bs = start()
    calls = []

    def responder(req):
        calls.append(time.time())
        return (503, "busy", {}) if len(calls) <= 2 else (200, "Success", {})
    sleuth.responder = responder
    try:
        assert bs.post("repo:push", push_body(sha(1)))[0] == 202
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 20, what="registration after two 503s")
        time.sleep(1.0)
        assert len(sleuth.requests) == 3, len(sleuth.requests)
        assert redis.cmd("ZCARD", key("retry")) == 0 and redis.cmd("XLEN", key("dead")) == 0
        H.wait_for(lambda: redis.cmd("XLEN", key("jobs")) == 0, 10, what="acked")
    finally:
        finish(redis, sleuth, bs)


def test_429_retry_after_is_honoured():
    redis, sleuth, bs = start()
    calls = []

    def responder(req):
        calls.append(time.time())
        return (429, "slow down", {"Retry-After": "2"}) if len(calls) == 1 else (200, "Success", {})
    sleuth.responder = responder
    try:
        assert bs.post("repo:push", push_body(sha(2)))[0] == 202
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 20, what="registration after 429")
        assert calls[1] - calls[0] >= 1.9, "Retry-After: 2 not honoured (%.2fs)" % (calls[1] - calls[0])
    finally:
        finish(redis, sleuth, bs)


def test_401_dead_letter_then_replay():
    redis, sleuth, bs = start()
    broken = [True]
    sleuth.responder = lambda req: (401, "API key not valid", {}) if broken[0] else (200, "Success", {})
    try:
        assert bs.post("repo:push", push_body(sha(3)))[0] == 202
        H.wait_for(lambda: redis.cmd("XLEN", key("dead")) == 1, 15, what="dead letter")
        time.sleep(0.5)
        assert len(sleuth.requests) == 1, "a 401 must not be retried"
        entry = redis.cmd("XRANGE", key("dead"), "-", "+")[0]
        dead_id = entry[0].decode()
        fields = dict(zip(entry[1][::2], entry[1][1::2]))
        assert b"401" in fields[b"reason"] and b"API key not valid" in fields[b"reason"], fields
        rc, out, err = cli(bs, "dlq", "list")
        assert rc == 0 and dead_id in out and "401" in out, (out, err)
        rc, out, err = cli(bs, "dlq", "show", dead_id)
        assert rc == 0 and "API key not valid" in out, (out, err)
        broken[0] = False
        rc, out, err = cli(bs, "dlq", "replay", dead_id)
        assert rc == 0, (out, err)
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 15, what="registration after replay")
        assert redis.cmd("XLEN", key("dead")) == 0
        assert redis.cmd("XLEN", key("replays")) == 1
    finally:
        finish(redis, sleuth, bs)


def test_dlq_filters_dry_run_and_purge():
    redis, sleuth, bs = start()
    broken = [True]
    sleuth.responder = lambda req: (401, "API key not valid", {}) if broken[0] else (200, "Success", {})
    try:
        for i in range(3):
            assert bs.post("repo:push", push_body(sha(300 + i)), delivery="{dlq-%d}" % i)[0] == 202
        H.wait_for(lambda: redis.cmd("XLEN", key("dead")) == 3, 15, what="three dead letters")
        rc, out, err = cli(bs, "dlq", "list", "--json")
        assert rc == 0, err
        dead = json.loads(out)
        assert len(dead) == 3 and all(d["target"] == "acme/foo-web/production" for d in dead), dead
        rc, out, _ = cli(bs, "dlq", "list", "--json", "--reason", "API key", "--limit", "2")
        assert len(json.loads(out)) == 2
        rc, out, _ = cli(bs, "dlq", "list", "--json", "--reason", "no such reason")
        assert json.loads(out) == []
        rc, out, _ = cli(bs, "dlq", "list", "--json", "--repo", "brydzewski/foo", "--since", "1h")
        assert len(json.loads(out)) == 3
        rc, out, _ = cli(bs, "dlq", "list", "--json", "--deployment", "acme/other")
        assert json.loads(out) == []
        rc, out, _ = cli(bs, "dlq", "replay", "--all", "--dry-run")
        assert rc == 0 and "would replay 3" in out, out
        assert redis.cmd("XLEN", key("dead")) == 3, "a dry run changes nothing"
        rc, out, _ = cli(bs, "dlq", "purge", dead[0]["id"])
        assert rc == 1 and "would purge 1" in out and "--yes" in out, out
        assert redis.cmd("XLEN", key("dead")) == 3
        rc, out, _ = cli(bs, "dlq", "purge", dead[0]["id"], "--yes")
        assert rc == 0 and "purged 1" in out, out
        broken[0] = False
        rc, out, err = cli(bs, "dlq", "replay", "--all")
        assert rc == 0 and "2 of 2 replayed" in out, (out, err)
        H.wait_for(lambda: len(sleuth.answered(200)) == 2, 15, what="replayed registrations")
        assert redis.cmd("XLEN", key("dead")) == 0 and redis.cmd("XLEN", key("replays")) == 2
        rc, out, err = cli(bs, "dlq", "show", dead[0]["id"])
        assert rc == 1 and "no dead letter" in err, (out, err)
    finally:
        finish(redis, sleuth, bs)


def test_redis_lost_its_data_group_recreated():
    """Redis came back empty (no AOF): the consumer group is re-created and
    new deliveries are registered."""
    redis, sleuth, bs = start()
    try:
        assert bs.post("repo:push", push_body(sha(400)), delivery="{lost-1}")[0] == 202
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 15, what="first registration")
        redis.cmd("FLUSHALL")
        assert bs.post("repo:push", push_body(sha(401)), delivery="{lost-2}")[0] == 202
        H.wait_for(lambda: len(sleuth.answered(200)) == 2, 15, what="registration after the data loss")
        groups = redis.cmd("XINFO", "GROUPS", key("jobs"))
        assert groups and b"workers" in groups[0], groups
    finally:
        finish(redis, sleuth, bs)


def test_kill9_worker_while_sleuth_hangs():
    extra = FAST_RETRY + "worker:\n  visibility_timeout: 3s\n"
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    hung = []

    def responder(req):
        if not hung:
            hung.append(req)
            return "hang"
        return (200, "Success", {})
    sleuth.responder = responder
    cfg = H.make_config(redis.port, sleuth.url, DEPLOY, extra=extra).replace("timeout_ms: 3000", "timeout_ms: 60000")
    ingest = H.Bitsleuth(cfg, mode="serve")
    w1 = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, consumer="w1")
    try:
        assert ingest.post("repo:push", push_body(sha(4)))[0] == 202
        H.wait_for(lambda: hung, 10, what="the first Sleuth call to hang")
        w1.kill9()
        w2 = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, consumer="w2")
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 20, what="another worker to register it")
        H.wait_for(lambda: redis.cmd("XPENDING", key("jobs"), "workers")[0] == 0, 10, what="nothing pending")
        assert redis.cmd("XLEN", key("jobs")) == 0
        assert "claimed" in w2.log()
        finish(redis, sleuth, ingest, w2)
    finally:
        sleuth.close()
        redis.close()


def test_redis_restart_during_burst_loses_nothing():
    # Entries a worker had read when Redis died stay pending: another read
    # (after visibility_timeout) takes them, so keep it short here.
    redis, sleuth, bs = start(extra=FAST_RETRY + "worker:\n  visibility_timeout: 3s\n", appendonly=True)
    n = 300
    answers = {}

    def sender():
        for i in range(n):
            try:
                st = bs.post("repo:push", push_body(sha(1000 + i)), delivery="{burst-%d}" % i)[0]
            except Exception:
                st = "error"
            answers[i] = st
            time.sleep(0.01)
    t = threading.Thread(target=sender)
    t.start()
    time.sleep(0.5)
    redis.kill()                      # SIGKILL: only the AOF (fsync always) survives
    time.sleep(1.0)
    redis.start()
    t.join(90)
    try:
        acked = [i for i, st in answers.items() if st == 202]
        refused = [i for i, st in answers.items() if st == 503]
        assert len(acked) + len(refused) == n, answers
        assert refused, "the outage should have refused some deliveries"
        assert len(acked) > n // 3, "most deliveries come before or after the outage"
        want = {("/api/1/deployments/acme/foo-web/register_deploy", sha(1000 + i), "production") for i in acked}
        H.wait_for(lambda: want <= registered(sleuth)[0], 60, what="every acknowledged delivery registered")
        got, sends = registered(sleuth)
        extra = {g for g in got if g[1] not in {sha(1000 + i) for i in acked}}
        assert not extra, "registered deliveries that were refused: %s" % extra
        print("  burst: %d sent, %d acknowledged, %d refused with 503, %d registered, %d sends"
              % (n, len(acked), len(refused), len(want), sends))
    finally:
        finish(redis, sleuth, bs)


def test_accounting_with_random_faults():
    extra = FAST_RETRY + "worker:\n  visibility_timeout: 3s\n  concurrency: 8\n"
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    rnd = random.Random(int(os.environ.get("BS_SEED", "7")))
    faults = {"503": 0, "429": 0, "hang": 0, "500": 0}

    def responder(req):
        x = rnd.random()
        if x < 0.2:
            faults["503"] += 1
            return (503, "unavailable", {})
        if x < 0.25:
            faults["429"] += 1
            return (429, "slow down", {"Retry-After": "1"})
        if x < 0.28:
            faults["hang"] += 1
            return "hang"
        if x < 0.33:
            faults["500"] += 1
            return (500, "oops", {})
        return (200, "Success", {})
    sleuth.responder = responder
    # 150 deliveries to 150 targets (one branch and deployment each), so
    # that every one must be registered: push order only matters within a
    # target, and test_ordering.py covers that.
    n = 150
    deps = [{"org": "acme", "deployment": "svc-%d" % i, "repository": "brydzewski/foo",
             "branch": "acct-%d" % i} for i in range(n)]
    cfg = H.make_config(redis.port, sleuth.url, deps, extra=extra).replace("timeout_ms: 3000", "timeout_ms: 1000")
    bs = H.Bitsleuth(cfg)
    t0 = time.time()
    try:
        for i in range(n):
            st = bs.post("repo:push", push_body(sha(5000 + i), "acct-%d" % i), delivery="{acct-%d}" % i)[0]
            assert st == 202, st
        want = {("/api/1/deployments/acme/svc-%d/register_deploy" % i, sha(5000 + i), "production") for i in range(n)}

        def settled():
            return (redis.cmd("XLEN", key("jobs")) == 0 and redis.cmd("ZCARD", key("retry")) == 0
                    and redis.cmd("XPENDING", key("jobs"), "workers")[0] == 0)
        H.wait_for(settled, 120, what="every delivery settled")
        got, sends = registered(sleuth)
        rc, out, err = cli(bs, "stats", "--json")
        assert rc == 0, err
        stats = json.loads(out)
        superseded = stats["counters"].get("superseded", 0)
        assert got == want, ("lost", want - got, "unexpected", got - want)
        assert superseded == 0 and stats["counters"]["registered"] >= n, stats
        assert stats["counters"]["queued"] == n, stats
        assert redis.cmd("XLEN", key("dead")) == 0
        print("  accounting: %d deliveries, %d Sleuth requests, faults injected %s, %d accepted sends for "
              "%d registrations, %d superseded, 0 lost, 0 pending, 0 dead, %.1fs; stats: %s"
              % (n, len(sleuth.requests), faults, sends, len(got), superseded, time.time() - t0,
                 json.dumps(stats, sort_keys=True)))
    finally:
        finish(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
