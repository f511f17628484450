"""The harness of the topology tests (redis_topo.py) checked on its own:
against redis alone (a Sentinel failover, sentinels without a master
until it starts, a Cluster's CRC16 slots, slot migrations with a stream
and its group intact, a TAKEOVER and an automatic failover), and its load
generator's accounting against `bitsleuth run` on a plain redis:// URL
whose redis-server is killed and started again."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
import redis_topo as T  # noqa: E402


def test_harness_against_redis_alone():
    T.selftest()


def test_load_accounting_through_a_redis_restart():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [T.FOO_MASTER],
                                   extra="retry:\n  base: 100ms\n  cap: 1s\n"))
    load = T.Load(bs, sleuth, rate=20)
    try:
        load.start()
        H.wait_for(lambda: len(load.registrations()) >= 20, 20, what="registrations")
        redis.kill()
        load.mark_kill()
        H.wait_for(load.had_outage, 20, what="a non-202 with redis down")
        redis.start()
        H.wait_for(load.first_202_after_outage, 30, what="202s again")
        n = len(load.snapshot())
        H.wait_for(lambda: len(load.snapshot()) >= n + 20, 10, what="1 s more load")
        load.stop()
        load.settle(20, quiet_s=3, extra=lambda: T.settled_all(lambda t: redis, ["bstest"]))
        s = load.summary()
        print("  " + T.Load.line("single redis restart (no AOF)", s), flush=True)
        assert s["sent"] == sum(s["statuses"].values()), s
        assert s["acked"] == s["registered"] + s["lost"], s
        assert s["statuses"].get("503", 0) >= 1 and s["resume_s"] is not None and s["resume_s"] > 0, s
        shas = [r["sha"] for r in load.snapshot()]
        assert len(set(shas)) == len(shas) and all(len(x) == 40 for x in shas), shas[:3]
        assert bs.proc.poll() is None
    finally:
        load.stop_ev.set()
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
