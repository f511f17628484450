"""Redis Cluster (issue 13) through the real binary: `bitsleuth run` with
cluster seeds (three masters, no replicas, queue.shards 1: every key has
the hash tag {bstest}) under a steady load of signed pushes, while the
slot of bstest is migrated by hand to another master, once at once and
once key by key with pauses (bitsleuth then meets ASK and TRYAGAIN as
well as MOVED). Every acknowledged push is registered, MOVED redirects
are counted, and nothing is left pending or waiting once settled."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
import redis_topo as T  # noqa: E402

FAST_RETRY = "retry:\n  base: 100ms\n  cap: 1s\n"
RATE = 20.0


def redirects(bs):
    m = T.metrics(bs)
    r = T.redis_counters(m)
    return {k: r[k] for k in ("moved", "ask", "tryagain", "failovers")}


def test_slot_migration_mid_stream():
    c = T.Cluster(masters=3, replicas_per_master=0, node_timeout_ms=1000)
    sleuth = H.SleuthStandIn()
    cfg = T.topo_config(c.redis_yaml(), sleuth.url, [T.FOO_MASTER], extra=FAST_RETRY)
    bs = H.Bitsleuth(cfg)
    load = T.Load(bs, sleuth, rate=RATE)
    tag = c.client_for("bstest")
    try:
        slot = c.keyslot("bstest")
        first = c.owner_of_slot(slot)
        print("  slot of bstest: %d, at port %d; masters %s" % (slot, first, c.masters()), flush=True)
        load.start()
        H.wait_for(lambda: T.acked(load) >= 2 * RATE and len(load.registrations()) >= RATE, 30,
                   what=lambda: "pushes acknowledged and registered (%s)" % load.summary()["statuses"])

        # 1. At once.
        second = [p for p in c.masters() if p != first][0]
        t = t_first = time.time()
        n = c.migrate_slot(slot, second)
        print("  migrated slot %d %d -> %d at once: %d keys in %.2fs; %s"
              % (slot, first, second, n, time.time() - t, redirects(bs)), flush=True)
        t_mig = time.time()
        H.wait_for(lambda: T.acked(load, t_mig) >= 2 * RATE, 30,
                   what=lambda: "202s after the first migration (%s)" % load.summary()["statuses"])

        # 2. Key by key with pauses: the slot is MIGRATING/IMPORTING for a while.
        third = [p for p in c.masters() if p not in (first, second)][0]
        nkeys = c.nodes[second].cmd("CLUSTER", "COUNTKEYSINSLOT", slot)
        pause = min(0.1, 5.0 / max(nkeys, 1))
        before = redirects(bs)
        t = t_second = time.time()
        n = c.migrate_slot(slot, third, pause_between_keys_s=pause)
        after = redirects(bs)
        print("  migrated slot %d %d -> %d key by key (pause %.3fs): %d keys in %.2fs; redirects %s -> %s"
              % (slot, second, third, pause, n, time.time() - t, before, after), flush=True)
        t_mig = time.time()
        H.wait_for(lambda: T.acked(load, t_mig) >= 2 * RATE, 30,
                   what=lambda: "202s after the second migration (%s)" % load.summary()["statuses"])
        load.stop()
        ok = load.settle(timeout=40, quiet_s=5, extra=lambda: T.settled_all(lambda _t: tag, ["bstest"]))
        s = load.summary()
        print("  " + T.Load.line("cluster migrations", s), flush=True)
        r = redirects(bs)
        print("  redirects at the end: %s" % r, flush=True)
        print("  answers other than 202 (count, first, last sent; s after the first migration began; "
              "the second began at %.2f s, took %.2f s): %s"
              % (t_second - t_first, t_mig - t_second, load.windows(t_first)), flush=True)

        # Every check, then one assertion naming all that failed.
        problems = T.survival_problems(bs, s)

        def check(ok, what):
            if not ok:
                problems.append(what)
        check(s["lost"] == 0, ("acknowledged pushes never registered", s))
        check(ok, ("not settled", s))
        check(r["moved"] >= 1, ('bitsleuth_redis_redirects_total{kind="moved"} < 1', r))
        st = T.stats(bs)
        print("  stats: jobs=%s pending=%s retry=%s dead=%s shards=%s"
              % (st.get("jobs"), st.get("pending"), st.get("retry"), st.get("dead"), st.get("shards")),
              flush=True)
        check(st["jobs"] == 0 and st["pending"] == 0 and st["retry"] == 0, ("stats: jobs left", st))
        check(st.get("lane_waiting", 0) == 0, ("stats: lane_waiting", st))
        shards = st.get("shards")
        check(isinstance(shards, list) and len(shards) == 1 and shards[0].get("tag") == "bstest"
              and shards[0].get("master") == "%s:%d" % (T.HOST, third),
              ("stats --json shards: want one, tag bstest, master 127.0.0.1:%d" % third, shards))
        # Every key is where the slot is now.
        keys = c.keys_per_master()
        check(all(v == 0 for p, v in keys.items() if p != third), ("keys left behind", keys))
        assert not problems, problems
    finally:
        load.stop_ev.set()
        H.shutdown(c, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
