"""queue.shards 3 on a Redis Cluster of three masters with one replica
each (issue 13), with redis.wait_replicas 1, through the real binary: 30
repositories, several pushes to each in sequence at a steady rate. Each
master holds the keys of exactly the shards whose slots it owns, the load
is spread (keys and commands per master are printed), one target's
registrations reach Sleuth in push order, and when a master is SIGKILLed
mid-stream and its replica takes over (automatic failover after the node
timeout) every acknowledged push is still registered."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
import redis_topo as T  # noqa: E402

FAST_RETRY = "retry:\n  base: 100ms\n  cap: 1s\n"
RATE = 20.0
NREPOS = 30
SHARDS = 3
REPOS = ["acme/r%d" % i for i in range(NREPOS)]
DEPLOYMENTS = [{"org": "acme", "deployment": "r%d" % i, "repository": REPOS[i], "branch": "master"}
               for i in range(NREPOS)]
TAGS = T.shard_tags("bstest", SHARDS)
LAYOUT_KEY = b"{bstest}:layout"


def tag_of(key):
    k = key.decode() if isinstance(key, bytes) else key
    s = k.find("{")
    e = k.find("}", s + 1)
    return k[s + 1:e] if s >= 0 and e > s else None


def placement(c):
    """{master port: set of shard tags whose slot it owns}."""
    out = {}
    for t in TAGS:
        out.setdefault(c.owner_of_slot(T.keyslot(t)), set()).add(t)
    return out


def check_keys_where_their_shards_are(c):
    place = placement(c)
    found = {}
    layout_at = c.owner_of_slot(T.keyslot("bstest"))
    for p in c.masters():
        keys = c.nodes[p].cmd("KEYS", "*")
        # README "Redis layout": {<prefix>}:layout (the queue.shards the
        # installation started with) is the one key of the unsharded tag.
        if p == layout_at:
            keys = [k for k in keys if k != LAYOUT_KEY]
        tags = {tag_of(k) for k in keys}
        found[p] = (len(keys), sorted(t or "(none)" for t in tags))
        want = place.get(p, set())
        stray = [k for k in keys if tag_of(k) not in want][:5]
        assert tags <= want, ("master %d holds keys of %s, owns the slots of %s; e.g. %s"
                              % (p, tags - want, want, stray))
        for t in want:
            assert t in tags, ("master %d owns the slot of %s but holds none of its keys" % (p, t), found)
    return found


def order_violations(load):
    """Per deployment, the shas Sleuth registered (200; consecutive repeats
    collapsed) must follow push order: a push registered after another
    must not have been answered before that other one was even sent. (Two
    pushes to one repository in flight at once, as during a failover, have
    no order between them.)"""
    recs = {r["sha"]: r for r in load.snapshot()}
    per = {}
    with load.sleuth.lock:
        for r in load.sleuth.requests:
            if r.get("answered") != 200:
                continue
            sha = (r["json"] or {}).get("sha")
            seq = per.setdefault(r["path"], [])
            if not seq or seq[-1] != sha:
                seq.append(sha)
    bad = {}
    for path, seq in per.items():
        for a in range(len(seq)):
            for b in range(a + 1, len(seq)):
                ra, rb = recs.get(seq[a]), recs.get(seq[b])
                if ra and rb and rb.get("answered") and rb["answered"] < ra["sent"]:
                    bad.setdefault(path, []).append((ra["i"], rb["i"]))
    return bad, len(per)


def test_three_shards_on_three_masters_with_a_failover():
    c = T.Cluster(masters=3, replicas_per_master=1, node_timeout_ms=1000)
    sleuth = H.SleuthStandIn()
    cfg = T.topo_config(c.redis_yaml(), sleuth.url, DEPLOYMENTS, wait_replicas=1, wait_timeout_ms=500,
                        shards=SHARDS, extra=FAST_RETRY)
    bs = H.Bitsleuth(cfg)
    load = T.Load(bs, sleuth, rate=RATE, repos=REPOS)
    try:
        place = placement(c)
        slots = {t: T.keyslot(t) for t in TAGS}
        print("  shard slots %s; placement %s" % (slots, {p: sorted(v) for p, v in place.items()}), flush=True)
        if len(place) < SHARDS:
            print("  NOTE: the shard tags share a master (%d masters for %d shards); the per-master "
                  "check covers only what the cluster placed" % (len(place), SHARDS), flush=True)
        cmd0 = c.commands_snapshot()
        load.start()
        # Three pushes to every repository (in sequence, round robin).
        H.wait_for(lambda: T.acked(load) >= 3 * NREPOS and len(load.registrations()) >= 2 * NREPOS, 40,
                   what=lambda: "90 pushes acknowledged (%s)" % load.summary()["statuses"])
        early = []
        try:
            found = check_keys_where_their_shards_are(c)
        except AssertionError as e:      # reported at the end, with the rest
            found = str(e)
            early.append(("before the failover", found))
        cmds = c.commands_per_master(cmd0)
        print("  keys per master %s; commands per master %s; key tags %s"
              % (c.keys_per_master(), cmds, found), flush=True)
        for p in place:
            if cmds.get(p, 0) <= 0:
                early.append(("a master that owns a shard got no commands", p, cmds))

        # Kill the master of shard 0; its replica takes over after the node timeout.
        victim = c.owner_of_slot(slots[TAGS[0]])
        heir = c.replicas_of(victim)[0]
        c.kill_master(victim)
        load.mark_kill()
        c.failover(heir, takeover=False, timeout=30)
        print("  master %d (shards %s) killed; replica %d took over after %.1fs"
              % (victim, sorted(place[victim]), heir, time.time() - load.kill_at), flush=True)
        # (No 503 at all is possible too: then 5 s of load after the failover.)
        load.await_resume(RATE)
        load.stop()
        ok = load.settle(timeout=45, quiet_s=5,
                         extra=lambda: T.settled_all(lambda t: c.client_for(t), TAGS))
        s = load.summary()
        print("  " + T.Load.line("cluster 3 shards wait_replicas=1", s), flush=True)
        bad, ntargets = order_violations(load)
        m = T.metrics(bs)
        print("  targets registered: %d; order violations: %s; failovers=%s moved=%s tryagain=%s wait_timeouts=%s"
              % (ntargets, bad, m.get("bitsleuth_redis_failovers_total"), m.get('bitsleuth_redis_redirects_total{kind="moved"}'),
                 m.get("bitsleuth_redis_tryagain_total"), m.get("bitsleuth_redis_wait_timeouts_total")),
              flush=True)
        print("  keys per master after: %s" % c.keys_per_master(), flush=True)

        # Every check, then one assertion naming all that failed.
        problems = list(early) + T.survival_problems(bs, s)

        def check(ok, what):
            if not ok:
                problems.append(what)
        check(s["lost"] == 0, ("acknowledged pushes never registered", s))
        check(ok, ("not settled", s))
        check(ntargets == NREPOS, ("targets registered", ntargets))
        check(not bad, ("registrations out of push order", bad))
        check(m.get("bitsleuth_redis_failovers_total", 0) >= 1,
              ("bitsleuth_redis_failovers_total", m.get("bitsleuth_redis_failovers_total")))
        try:
            check_keys_where_their_shards_are(c)
        except AssertionError as e:
            problems.append(("after the failover", str(e)))
        st = T.stats(bs)
        print("  stats shards: %s" % st.get("shards"), flush=True)
        check(st["jobs"] == 0 and st["pending"] == 0 and st["retry"] == 0, ("stats: jobs left", st))
        layout = c.client_for("bstest").cmd("GET", LAYOUT_KEY)
        check(layout == str(SHARDS).encode(), ("%s should hold %d" % (LAYOUT_KEY.decode(), SHARDS), layout))
        got = {x.get("tag"): x.get("master") for x in st.get("shards") or []}
        want = {t: "%s:%d" % (T.HOST, c.owner_of_slot(slots[t])) for t in TAGS}
        check(got == want, ("stats --json shards", got, want))
        check([x.get("shard") for x in st.get("shards") or []] == list(range(SHARDS)),
              ("stats --json shard numbers", st.get("shards")))
        assert not problems, problems
    finally:
        load.stop_ev.set()
        H.shutdown(c, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
