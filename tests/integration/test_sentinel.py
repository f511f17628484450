"""Redis Sentinel (issue 13) through the real binary: `bitsleuth run` on a
sentinel config under a steady load of signed pushes while the master is
SIGKILLed. With redis.wait_replicas 1 no acknowledged push is lost and 202s
resume within 15 s; without WAIT the summary line says what was lost (the
README quotes it). With no master known at start ingest answers 503,
/readyz is not 200, the process stays up, and 202s come once a master is
there. Each test prints one LOAD line (redis_topo.Load.line)."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
import redis_topo as T  # noqa: E402

FAST_RETRY = "retry:\n  base: 100ms\n  cap: 1s\n"
RATE = 20.0


def start(sset, sleuth, wait_replicas, master_name=None):
    lines = sset.redis_yaml()
    if master_name:
        lines = [ln.replace("master: %s" % sset.name, "master: %s" % master_name) for ln in lines]
    cfg = T.topo_config(lines, sleuth.url, [T.FOO_MASTER], wait_replicas=wait_replicas,
                        wait_timeout_ms=500, extra=FAST_RETRY)
    return H.Bitsleuth(cfg)


def post_status(bs, sha):
    try:
        return bs.post("repo:push", T.push_body(sha))[0]
    except Exception as e:
        return "conn-error: %s" % type(e).__name__


def failover_under_load(wait_replicas, label):
    """The common run: returns (summary, bitsleuth, sset, sleuth, load)."""
    sset = T.SentinelSet(replicas=2, sentinels=3, down_after_ms=1000, failover_timeout_ms=3000)
    sleuth = H.SleuthStandIn()
    bs = start(sset, sleuth, wait_replicas)
    load = T.Load(bs, sleuth, rate=RATE)
    try:
        load.start()
        # ~3 s of load acknowledged, and the worker registering.
        H.wait_for(lambda: T.acked(load) >= 3 * RATE and load.registrations(), 30,
                   what=lambda: "3 s of acknowledged load (%s)" % load.summary()["statuses"])
        old = sset.kill_master()
        load.mark_kill()
        new = sset.wait_failover(old, 30)
        print("  %s: master %d killed, sentinels promoted %d after %.1fs"
              % (label, old, new, time.time() - load.kill_at), flush=True)
        # (No 503 at all would fail check_common; then 5 s of load after the failover.)
        load.await_resume(RATE)
        load.stop()
        load.settle(timeout=40, quiet_s=5,
                    extra=lambda: T.settled_all(lambda t: T.SentinelClient(sset), ["bstest"]))
        s = load.summary()
        print("  " + T.Load.line(label, s), flush=True)
        if s["lost"]:
            print("  %s: lost shas (first 10): %s" % (label, s["lost_shas"]), flush=True)
        return s, bs, sset, sleuth, load
    except BaseException:
        load.stop_ev.set()
        H.dump_logs()
        try:
            H.shutdown(sset, sleuth, bs)
        except BaseException as e:   # keep the first failure the one reported
            print("  (shutdown after the failure failed too: %s)" % e, file=sys.stderr)
        raise


def check_common(s, bs, load):
    """The checks of both failover runs: a list of what failed (empty: all
    held), so that one run reports every failure at once."""
    problems = T.survival_problems(bs, s)

    def check(ok, what):
        if not ok:
            problems.append(what)
    others = {k: v for k, v in s["statuses"].items() if k not in ("202", "503")}
    check(not others, ("answers other than 202 and 503", s["statuses"]))
    check(s["statuses"].get("503", 0) >= 1, ("no 503 while the master was gone", s["statuses"]))
    # The accounting adds up.
    check(sum(s["statuses"].values()) == s["sent"], ("statuses do not add up to sent", s))
    check(s["acked"] == s["registered"] + s["lost"], ("acked != registered + lost", s))
    m = T.metrics(bs)
    print("  metrics: failovers=%s wait_timeouts=%s tryagain=%s up=%s lag=%s" % (
        m.get("bitsleuth_redis_failovers_total"), m.get("bitsleuth_redis_wait_timeouts_total"),
        m.get("bitsleuth_redis_tryagain_total"), m.get("bitsleuth_redis_up"),
        m.get("bitsleuth_redis_replica_lag_seconds")), flush=True)
    check(m.get("bitsleuth_redis_failovers_total", 0) >= 1,
          ("bitsleuth_redis_failovers_total < 1", m.get("bitsleuth_redis_failovers_total")))
    check(m.get("bitsleuth_redis_up") == 1, ("bitsleuth_redis_up", m.get("bitsleuth_redis_up")))
    return problems


def test_failover_under_load_with_wait_loses_nothing():
    s, bs, sset, sleuth, load = failover_under_load(1, "sentinel wait_replicas=1")
    try:
        problems = check_common(s, bs, load)
        if s["lost"] != 0:
            problems.append(("acknowledged pushes never registered with wait_replicas 1", s))
        if s["resume_s"] is None or s["resume_s"] >= 15:
            problems.append(("202s resumed late (or never)", s))
        assert not problems, problems
    finally:
        H.shutdown(sset, sleuth, bs)


def test_failover_under_load_without_wait_what_is_lost():
    """No assertion on lost: this is what a failover costs without WAIT
    (the line the README quotes). Only the accounting must add up."""
    s, bs, sset, sleuth, load = failover_under_load(0, "sentinel wait_replicas=0")
    try:
        problems = check_common(s, bs, load)
        if s["resume_s"] is None:
            problems.append(("202s never resumed", s))
        assert not problems, problems
    finally:
        H.shutdown(sset, sleuth, bs)


def no_master_then(bs, sleuth, appear, label):
    """Ingest 503 and /readyz not 200 for 5 s with the process up; then
    appear() brings a master and 202s come and are registered."""
    t0 = time.time()
    seen = []
    while time.time() - t0 < 5:
        seen.append(post_status(bs, "%040x" % (0xdead0000 + len(seen))))
        assert bs.get("/readyz")[0] != 200, "/readyz is 200 with no master known"
        assert bs.proc.poll() is None, "bitsleuth exited with no master known (%s)" % bs.proc.returncode
        time.sleep(0.5)
    assert set(seen) == {503}, ("ingest with no master known", seen)
    appear()
    t1 = time.time()
    tries = []

    def accepted():
        # A new sha every try: a try answered 503 may still have left its
        # content-dedupe note, and the same body again would be "duplicate".
        tries.append("%040x" % (0xbeef00 + len(tries)))
        return post_status(bs, tries[-1]) == 202
    H.wait_for(accepted, 30, interval=0.5, what="a 202 once the master is there")
    sha = tries[-1]
    print("  %s: 503 x%d while no master was known, 202 %.1fs after it appeared"
          % (label, len(seen), time.time() - t1), flush=True)
    H.wait_for(lambda: bs.get("/readyz")[0] == 200, 15, what="/readyz 200")
    H.wait_for(lambda: any((r["json"] or {}).get("sha") == sha for r in sleuth.answered(200)), 20,
               what="the push registered")
    assert bs.proc.poll() is None
    assert T.metric(bs, "bitsleuth_redis_up") == 1


def test_no_master_known_at_start_until_the_data_nodes_start():
    """The sentinels monitor a master address where nothing runs yet."""
    sset = T.SentinelSet.without_master(replicas=1)
    sleuth = H.SleuthStandIn()
    bs = start(sset, sleuth, 0)
    try:
        no_master_then(bs, sleuth, sset.start_master, "data nodes down")
    finally:
        H.shutdown(sset, sleuth, bs)


def test_no_master_known_at_start_until_the_sentinels_monitor_it():
    """bitsleuth asks for a master name the sentinels do not monitor;
    then SENTINEL MONITOR adds it on every sentinel."""
    sset = T.SentinelSet(replicas=1, sentinels=3)
    sleuth = H.SleuthStandIn()
    bs = start(sset, sleuth, 0, master_name="latecomer")
    mport = sset.master_port()

    def appear():
        for s in sset.sentinels:
            assert s.cmd("SENTINEL", "MONITOR", "latecomer", T.HOST, mport, 2) == "OK"
            assert s.cmd("SENTINEL", "SET", "latecomer", "down-after-milliseconds", 1000) == "OK"
    try:
        no_master_then(bs, sleuth, appear, "unknown master name")
    finally:
        H.shutdown(sset, sleuth, bs)


def test_outcome_sent_again_until_a_lagging_replica_confirms_it():
    """With wait_replicas 1 a finish whose WAIT times out (the replica is
    stopped) is not forgotten at once: it is sent again, and recorded
    once the replica confirms it, with one Sleuth call. (Forgotten, it
    would be on the master only, and a failover then would lose it.)"""
    sset = T.SentinelSet(replicas=1, sentinels=3)
    sleuth = H.SleuthStandIn()
    arrived, answer = sleuth.hold()
    bs = start(sset, sleuth, 1)
    replica = sset.replicas[0]
    try:
        assert bs.post("repo:push", T.push_body("%040x" % 0xfeed01))[0] == 202
        assert arrived.wait(15), "the Sleuth call never started"
        replica.proc.send_signal(signal.SIGSTOP)
        try:
            answer.set()
            H.wait_for(lambda: "could not record its outcome (redis replicas" in bs.log(), 15,
                       what="a finish the replica did not confirm")
            # Past the second send (0.5 s later): its WAIT must not pass
            # while the replica still lacks the first send's writes.
            time.sleep(0.8)
            assert "outcome recorded" not in bs.log(), "confirmed with the replica stopped"
        finally:
            replica.proc.send_signal(signal.SIGCONT)
        H.wait_for(lambda: "outcome recorded (try" in bs.log(), 15, what="the finish confirmed")
        assert "it stays pending" not in bs.log() and "no replica confirmed" not in bs.log(), \
            bs.log()[-3000:]
        H.wait_for(lambda: T.settled_all(lambda t: T.SentinelClient(sset), ["bstest"]), 10,
                   what="nothing pending")
        assert len(sleuth.requests) == 1, "sent again: %d requests" % len(sleuth.requests)
    finally:
        H.shutdown(sset, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
