#!/usr/bin/env python3
"""SIGTERM during a burst of deliveries: `run` (ingest and worker in one
process, Sleuth answering slowly) stops accepting, finishes what is in
flight and exits 0 within its drain deadline (computed as cmd/process.c's
on_stop_signal does); after a restart every delivery that was answered
202 is registered exactly once per target, and none that was not."""
import concurrent.futures
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H

PUSH = "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_update.json"
HEAD = b"e42fac24456e4a56f1b7f9358afc3070e3b7ddec"   # the fixture's new head (every place: each push is new)
TARGETS = ["web", "api", "worker", "admin"]          # one lane each: sends run in parallel
N = 240
PACE_S = 0.02                                         # between one thread's posts: a burst, not a flood
SLOW_S = 0.3                                          # each Sleuth answer takes this long

SLEUTH_TIMEOUT_MS = 3000
MAX_WAIT_MS = 2000
COMMAND_TIMEOUT_MS = 2000     # make_config's redis.command_timeout_ms


def drain_deadline_s():
    """cmd/process.c on_stop_signal: sleuth.timeout_ms + backfill.max_wait_ms
    + redis.command_timeout_ms (+ redis.wait_timeout_ms with wait_replicas,
    not set here) + 1000 ms."""
    return (SLEUTH_TIMEOUT_MS + MAX_WAIT_MS + COMMAND_TIMEOUT_MS + 1000) / 1000.0


def sha_of(i):
    return ("%040x" % (0xd7a1 << 140 | i))[-40:]


def config(redis, sleuth):
    deps = [{"org": "acme", "deployment": t, "repository": "cloudbeers/temp", "branch": "main"}
            for t in TARGETS]
    extra = ("backfill:\n  max_wait: %dms\nworker:\n  visibility_timeout: 10s\n" % MAX_WAIT_MS)
    cfg = H.make_config(redis.port, sleuth.url, deps, extra=extra, sleuth_timeout_ms=SLEUTH_TIMEOUT_MS)
    assert "command_timeout_ms: %d" % COMMAND_TIMEOUT_MS in cfg
    return cfg


def test_sigterm_during_a_burst():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    started = []     # Sleuth calls that arrived (answered SLOW_S later)
    sleuth.responder = lambda req: (started.append(req["path"]), ("slow", SLOW_S, 200))[1]
    cfg = config(redis, sleuth)
    bs = H.Bitsleuth(cfg, consumer="drain-burst")
    bs2 = None
    try:
        base = H.read_fixture(PUSH)
        assert base.count(HEAD) >= 2     # the new head and its commit (and links)
        hook = {"X-Hook-UUID": "{%s}" % ("d" * 32)}    # one webhook: every push of it is queued
        accepted, lock = {}, threading.Lock()
        answers = []
        signalled = threading.Event()
        t_signal = [None]

        def post(i):
            time.sleep(PACE_S)
            body = base.replace(HEAD, sha_of(i).encode())
            try:
                st, js, raw, _ = bs.post("repo:push", body, headers=hook,
                                         delivery="{drain-%04d-%s}" % (i, "0" * 22))
            except OSError as e:          # refused or reset once it stopped accepting
                answers.append(type(e).__name__)
                return
            answers.append(st)
            if st == 202:
                assert js["status"] == "queued", js
                with lock:
                    accepted[sha_of(i)] = js["job"]
                    if len(accepted) == N // 4 and not signalled.is_set():
                        signalled.set()

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
            futs = [ex.submit(post, i) for i in range(N)]
            assert signalled.wait(60), "a quarter of the burst was never accepted: %s" % answers[-5:]
            # Some sends are in flight when the signal comes.
            H.wait_for(lambda: started, 20, what="a Sleuth call")
            t_signal[0] = time.time()
            bs.signal(signal.SIGTERM)
            for f in futs:
                f.result(timeout=60)
        deadline = drain_deadline_s()
        try:
            rc = bs.proc.wait(timeout=deadline + 10)
        except Exception:
            H.fail("bitsleuth did not exit within its drain deadline %.1fs (+10s)" % deadline)
        took = time.time() - t_signal[0]
        bs.logf.close()
        bs.assert_clean_log()
        log = bs.log()
        assert rc == 0, (rc, log[-3000:])
        assert "draining" in log and "stopped" in log, log[-2000:]
        in_flight_at_exit = len([r for r in sleuth.requests if r.get("answered") is None])
        n202 = len(accepted)
        assert n202 >= N // 4, n202
        not_all = sum(1 for a in answers if a != 202)
        print("  drain: %d of %d deliveries answered 202 (%d not: %s), exit %d %.1fs after SIGTERM "
              "(deadline %.1fs), %d registered before it"
              % (n202, N, not_all, sorted(set(map(str, answers)) - {"202"}), rc, took, deadline,
                 len(sleuth.answered(200))), flush=True)
        assert in_flight_at_exit == 0, "a call was cut off: %d" % in_flight_at_exit

        # Restart with the same consumer name: it finishes the queue.
        sleuth.responder = None
        bs2 = H.Bitsleuth(cfg, consumer="drain-burst")
        want = {(t, sha) for sha in accepted for t in TARGETS}
        H.wait_for(lambda: H.settled(redis) and len(sleuth.answered(200)) >= len(want), 120,
                   what=lambda: "every 202 registered: %d of %d, stream %d, pending %s" % (
                       len(sleuth.answered(200)), len(want), redis.cmd("XLEN", "{bstest}:jobs"),
                       redis.cmd("XPENDING", "{bstest}:jobs", "workers")[0]))
        counts = {}
        for r in sleuth.answered(200):
            target = r["path"].split("/")[5]
            counts[(target, r["json"]["sha"])] = counts.get((target, r["json"]["sha"]), 0) + 1
        missing = want - set(counts)
        twice = {k: v for k, v in counts.items() if v != 1}
        extra = set(counts) - want
        assert not missing, ("a 202 was not registered", sorted(missing)[:10])
        assert not twice, ("registered more than once", twice)
        assert not extra, ("registered without a 202", sorted(extra)[:10])
        assert redis.cmd("XLEN", "{bstest}:dead") == 0
    finally:
        procs = [p for p in (bs2,) if p]
        H.shutdown(redis, sleuth, *procs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
