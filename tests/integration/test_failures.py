"""Never lose an event: Sleuth failures, retries, dead letters, killed
workers and a Redis restart, through the real binary."""
import email.utils
import json
import os
import random
import re
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


def stats(bs):
    rc, out, err = cli(bs, "stats", "--json")
    assert rc == 0, err
    return json.loads(out)


def pending(redis):
    return redis.cmd("XPENDING", key("jobs"), "workers")[0]


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
        H.wait_for(lambda: H.settled(redis), 10, what="acked")
        # Each retry waited at least the backoff it was given (full jitter:
        # the delay itself may be small, but never skipped), and went
        # through the retry set, not an in-memory loop.
        delays = [int(ms) for _, ms in re.findall(r"retry (\d+) in (\d+) ms", bs.log())][:2]
        assert len(delays) == 2, bs.log()[-3000:]
        for i, d in enumerate(delays):
            gap = calls[i + 1] - calls[i]
            assert gap >= d / 1000.0 - 0.05, "retry %d after %.3fs, its backoff was %d ms" % (i + 1, gap, d)
        c = stats(bs)["counters"]
        assert c.get("retried") == 2 and c.get("registered") == 1 and c.get("dead", 0) == 0, c
    finally:
        H.shutdown(redis, sleuth, bs)


def test_429_retry_after_is_honoured():
    redis, sleuth, bs = start()
    calls = []

    def responder(req):
        calls.append(time.time())
        if len(calls) == 1:
            return (429, "slow down", {"Retry-After": "2"})              # delta-seconds
        if len(calls) == 2:                                             # HTTP-date, 3 s ahead
            return (429, "slow down", {"Retry-After": email.utils.formatdate(time.time() + 3, usegmt=True)})
        return (200, "Success", {})
    sleuth.responder = responder
    try:
        assert bs.post("repo:push", push_body(sha(2)))[0] == 202
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 30, what="registration after two 429s")
        # Backoff alone (base 100ms, cap 1s) would come back within ~1s.
        assert calls[1] - calls[0] >= 1.9, "Retry-After: 2 not honoured (%.2fs)" % (calls[1] - calls[0])
        # The date has whole seconds: at least 2 s remain of the 3.
        assert calls[2] - calls[1] >= 1.9, "Retry-After: <HTTP-date> not honoured (%.2fs)" % (calls[2] - calls[1])
        assert len(calls) == 3, len(calls)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_401_dead_letter_then_replay():
    redis, sleuth, bs = start()
    broken = [True]
    sleuth.responder = lambda req: (401, "API key not valid", {}) if broken[0] else (200, "Success", {})
    try:
        assert bs.post("repo:push", push_body(sha(3)))[0] == 202
        H.wait_for(lambda: redis.cmd("XLEN", key("dead")) == 1, 15, what="dead letter")
        time.sleep(1.5)   # longer than the 1 s retry tick: a retry would show
        assert len(sleuth.requests) == 1, "a 401 must not be retried"
        assert H.settled(redis), "a dead letter leaves nothing pending or waiting"
        entry = redis.cmd("XRANGE", key("dead"), "-", "+")[0]
        dead_id = entry[0].decode()
        fields = dict(zip(entry[1][::2], entry[1][1::2]))
        assert b"401" in fields[b"reason"] and b"API key not valid" in fields[b"reason"], fields
        assert fields[b"status"] == b"401" and int(fields[b"dead_ms"]) > 0 and b"job" in fields, fields
        history = json.loads(fields[b"history"])
        assert len(history) == 1 and history[0]["status"] == 401 and history[0]["outcome"] == "dead", history
        assert stats(bs)["counters"].get("dead") == 1
        rc, out, err = cli(bs, "dlq", "list")
        assert rc == 0 and dead_id in out and "401" in out, (out, err)
        rc, out, err = cli(bs, "dlq", "show", dead_id)
        assert rc == 0 and "API key not valid" in out, (out, err)
        broken[0] = False
        before_ms = int(time.time() * 1000)
        rc, out, err = cli(bs, "dlq", "replay", dead_id)
        assert rc == 0, (out, err)
        new_job = re.search(r"replayed \S+ as job (\S+)", out).group(1)
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 15, what="registration after replay")
        H.wait_for(lambda: H.settled(redis), 10, what="the replayed job acknowledged")
        assert redis.cmd("XLEN", key("dead")) == 0
        assert redis.cmd("XLEN", key("replays")) == 1
        # The replay log: one record in the one format, the target kept.
        rc, out, err = cli(bs, "replay", "--log", "--json")
        assert rc == 0, (out, err)
        log = json.loads(out)
        assert len(log) == 1, log
        rec = log[0]
        assert rec["kind"] == "dead" and rec["what"] == dead_id and rec["job"] == new_job, rec
        assert rec["who"] == H.actor(bs.env), rec
        assert rec["target"] == "acme/foo-web/production", rec
        assert before_ms <= int(rec["when_ms"]) <= int(time.time() * 1000), rec
        assert set(rec) == {"id", "kind", "who", "when_ms", "what", "job", "target"}, rec
        rc, out, _ = cli(bs, "replay", "--log", "--json", "--since", "1h", "--limit", "1")
        assert rc == 0 and json.loads(out) == log, out
        time.sleep(0.01)
        rc, out, _ = cli(bs, "replay", "--log", "--json", "--since", "5ms")
        assert rc == 0 and json.loads(out) == [], out
        rc, out, err = cli(bs, "replay", "--log")
        assert rc == 0 and len(out.splitlines()) == 1, (out, err)
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ dead %s -> job %s acme/foo-web/production$"
                        % (re.escape(dead_id), re.escape(new_job)), out.strip()), out
        assert len(sleuth.requests) == 2 and sleuth.requests[1]["json"]["sha"] == sha(3)
    finally:
        H.shutdown(redis, sleuth, bs)


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
        assert rc == 0 and "would purge 1" in out and "--yes" in out, out  # a preview is a success
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
        H.shutdown(redis, sleuth, bs)


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
        H.shutdown(redis, sleuth, bs)


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
    cfg = H.make_config(redis.port, sleuth.url, DEPLOY, extra=extra, sleuth_timeout_ms=60000)
    ingest = H.Bitsleuth(cfg, mode="serve")
    w1 = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, consumer="w1")
    try:
        assert ingest.post("repo:push", push_body(sha(4)))[0] == 202
        H.wait_for(lambda: hung, 10, what="the first Sleuth call to hang")
        w1.kill9()
        w2 = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, consumer="w2")
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 20, what="another worker to register it")
        H.wait_for(lambda: H.settled(redis), 10, what="nothing pending")
        assert sleuth.requests[-1]["json"]["sha"] == sha(4)
        assert "claimed" in w2.log()
        c = stats(w2)["counters"]
        assert c.get("redelivered", 0) >= 1 and c.get("registered") == 1, c
        H.shutdown(redis, sleuth, ingest, w2)
    finally:
        sleuth.close()
        redis.close()


def test_redis_restart_during_burst_loses_nothing():
    # Entries a worker had read when Redis died stay pending: another read
    # (after visibility_timeout) takes them, so keep it short here; but long
    # enough (8 s) that an outcome held in memory while Redis restarts is
    # recorded before the entry could be claimed, even on a slow machine.
    redis, sleuth, bs = start(extra=FAST_RETRY + "worker:\n  visibility_timeout: 8s\n", appendonly=True)

    def answer_after_100ms(req):
        time.sleep(0.1)
        return (200, "Success", {})
    sleuth.responder = answer_after_100ms
    n = 300                           # at least; more until the burst outlasts the outage
    answers = {}
    after = [0]                       # 202s after the first 503

    def sender():
        i = 0
        # Keep sending until n are sent and 30 were taken after the outage
        # (however long the reconnect takes on a slow machine), bounded.
        while (i < n or after[0] < 30) and i < 3 * n:
            try:
                st = bs.post("repo:push", push_body(sha(1000 + i)), delivery="{burst-%d}" % i)[0]
            except Exception:
                st = "error"
            answers[i] = st
            if st == 202 and 503 in answers.values():
                after[0] += 1
            i += 1
            time.sleep(0.01)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    H.wait_for(lambda: sum(1 for v in list(answers.values()) if v == 202) >= 20, 30, what="the burst to start")
    redis.kill()                      # SIGKILL: only the AOF (fsync always) survives
    t_kill = time.time()
    time.sleep(1.0)
    redis.start()
    t.join(120)
    try:
        assert not t.is_alive(), "the sender did not finish"
        sent = len(answers)
        acked = [i for i, st in answers.items() if st == 202]
        refused = [i for i, st in answers.items() if st == 503]
        assert len(acked) + len(refused) == sent, answers
        assert refused, "the outage should have refused some deliveries"
        assert min(acked) < min(refused) and max(acked) > max(refused) and after[0] >= 30, \
            "deliveries taken before and after the outage"
        want = {("/api/1/deployments/acme/foo-web/register_deploy", sha(1000 + i), "production") for i in acked}
        H.wait_for(lambda: want <= registered(sleuth)[0], 60, what="every acknowledged delivery registered")
        H.wait_for(lambda: H.settled(redis), 60, what="nothing left pending or waiting")
        got, sends = registered(sleuth)
        # Exactly once as Sleuth counts it (ignore_if_duplicate): one
        # registration per acknowledged sha. A delivery refused with 503 may
        # still have been written if Redis died between its fsync and its
        # reply (Bitbucket's resend is then a duplicate); nothing else.
        refused_shas = {sha(1000 + i) for i in refused}
        extra = {g for g in got - want if g[1] not in refused_shas}
        assert not extra, "registered something never sent: %s" % extra
        per_sha = {}
        for r in sleuth.answered(200):
            per_sha[r["json"]["sha"]] = per_sha.get(r["json"]["sha"], 0) + 1
        dup = sum(v - 1 for v in per_sha.values())
        # Each call takes 100 ms: those received in the 100 ms before the
        # kill (plus slack) were in flight at it. Only they may be sent twice:
        # every other answer is recorded, at the latest once Redis is back.
        with sleuth.lock:
            in_flight = sum(1 for r in sleuth.requests if t_kill - 0.2 <= r["at"] <= t_kill + 0.05)
        assert dup <= in_flight, ("repeated sends beyond the calls in flight at the kill", dup, in_flight)
        c = stats(bs)["counters"]
        print("  burst: %d sent, %d acknowledged (202), %d refused with 503, %d of %d acknowledged registered, "
              "%d refused-but-stored, %d repeated sends (<= %d in flight at the kill), queued=%s redelivered=%s, pending=%d"
              % (sent, len(acked), len(refused), len(want & got), len(want), len(got - want), dup, in_flight,
                 c.get("queued"), c.get("redelivered", 0), pending(redis)), flush=True)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_outcome_recorded_after_redis_restart_without_a_second_send():
    """Sleuth answers 200 while Redis is down (restarted with AOF): the
    worker records that outcome once Redis is back, long before the
    visibility timeout (default 5 min) would let the entry be claimed and
    sent again."""
    redis, sleuth, bs = start(appendonly=True)
    arrived, answer = sleuth.hold()
    try:
        assert bs.post("repo:push", push_body(sha(600)))[0] == 202
        assert arrived.wait(15), "the Sleuth call never started"
        redis.kill()                  # the entry is pending in the AOF
        answer.set()                  # Sleuth's 200 arrives while Redis is down
        H.wait_for(lambda: "could not record its outcome" in bs.log(), 15, what="the failed finish")
        time.sleep(0.5)
        redis.start()
        H.wait_for(lambda: H.settled(redis), 30, what="the outcome recorded after the restart")
        assert len(sleuth.requests) == 1, "sent again: %d requests" % len(sleuth.requests)
        c = stats(bs)["counters"]
        assert c.get("registered") == 1 and c.get("redelivered", 0) == 0 and c.get("retried", 0) == 0, c
        assert "outcome recorded" in bs.log()
    finally:
        H.shutdown(redis, sleuth, bs)


def stopped(pid):
    """Whether the process is stopped (state T in /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def test_entry_pending_here_after_a_lost_read_reply_is_taken_up_at_once():
    """What a failover can leave behind: Redis holds an entry pending for
    the worker's consumer name while the worker never got the read's reply
    (here forged: the worker's connections are killed while it is stopped,
    and the entry is read in its name). Once its connections are back it
    reads its own pending entries and registers the push in seconds, not
    after worker.visibility_timeout (5 min) by a claim."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    cfg = H.make_config(redis.port, sleuth.url, DEPLOY, extra=FAST_RETRY)
    ingest = H.Bitsleuth(cfg, mode="serve")
    worker = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, consumer="w-lost")
    try:
        assert ingest.post("repo:push", push_body(sha(700)))[0] == 202
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 15, what="the first registration")
        worker.proc.send_signal(signal.SIGSTOP)
        try:
            H.wait_for(lambda: stopped(worker.proc.pid), 10, what="the worker stopped")
            redis.cmd("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            H.wait_for(lambda: ingest.post("repo:push", push_body(sha(701)))[0] == 202, 15,
                       what="ingest to queue the second push")
            got = redis.cmd("XREADGROUP", "GROUP", "workers", "w-lost", "COUNT", "10",
                            "STREAMS", key("jobs"), ">")
            assert got and len(got[0][1]) == 1, got
        finally:
            worker.proc.send_signal(signal.SIGCONT)
        H.wait_for(lambda: len(sleuth.answered(200)) == 2, 20, what="the pending push registered")
        assert sleuth.requests[-1]["json"]["sha"] == sha(701)
        time.sleep(1)
        assert len(sleuth.requests) == 2, "sent %d times" % len(sleuth.requests)
        H.wait_for(lambda: H.settled(redis), 10, what="nothing pending")
        assert "taken up again" in worker.log(), worker.log()[-2000:]
        c = stats(worker)["counters"]
        assert c.get("registered") == 2, c
    finally:
        H.shutdown(redis, sleuth, ingest, worker)


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
    cfg = H.make_config(redis.port, sleuth.url, deps, extra=extra, sleuth_timeout_ms=1000)
    bs = H.Bitsleuth(cfg)
    t0 = time.time()
    try:
        for i in range(n):
            st = bs.post("repo:push", push_body(sha(5000 + i), "acct-%d" % i), delivery="{acct-%d}" % i)[0]
            assert st == 202, st
        want = {("/api/1/deployments/acme/svc-%d/register_deploy" % i, sha(5000 + i), "production") for i in range(n)}

        H.wait_for(lambda: H.settled(redis), 180, what="every delivery settled")
        got, sends = registered(sleuth)
        st = stats(bs)
        c = st["counters"]
        superseded = c.get("superseded", 0)
        n_pending, n_dead = pending(redis), redis.cmd("XLEN", key("dead"))
        # The figures first, so that they are in the output even when an
        # assertion below fails.
        print("  accounting: N=%d deliveries, queued=%s, registered=%s (distinct at the stand-in: %d, "
              "accepted sends: %d), retried=%s, dead=%s, redelivered=%s, superseded=%d, pending=%d, "
              "retry set=%d, stream=%d, lost=%d; %d Sleuth requests, faults injected %s, %.1fs"
              % (n, c.get("queued"), c.get("registered"), len(got & want), sends, c.get("retried", 0),
                 c.get("dead", 0), c.get("redelivered", 0), superseded, n_pending, st["retry"], st["jobs"],
                 len(want - got), len(sleuth.requests), faults, time.time() - t0), flush=True)
        assert got == want, ("lost", want - got, "unexpected", got - want)
        assert superseded == 0 and c["registered"] >= n, st
        assert c["queued"] == n, st
        assert n_pending == 0 and st["pending"] == 0 and st["retry"] == 0 and st["jobs"] == 0, st
        assert n_dead == 0 and c.get("dead", 0) == 0, st
        # Every injected fault is one retry record (a hang times out), except
        # the outcome of a run whose entry was claimed meanwhile (redelivered).
        assert c.get("retried", 0) + c.get("redelivered", 0) >= sum(faults.values()), (c, faults)
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
