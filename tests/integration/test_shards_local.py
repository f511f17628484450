"""queue.shards on one Redis (README "Scaling", queue/shard.h): 30
repositories over 3 shards, each repository's keys in its shard, per-target
push order kept, `stats` summing the shards and naming their masters, a
dead letter of shard 2 listed, shown and replayed as ID@2 (and by its plain
id), and the layout guard refusing a change of queue.shards while the old
layout still holds work (accepting it once drained)."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

SHARDS3 = "queue:\n  shards: 3\nretry:\n  base: 100ms\n  cap: 1s\n"
BASE = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))   # branch master
REPOS = ["acme/repo-%02d" % i for i in range(30)]


def fnv_shard(repo, n):
    """queue/shard.h's bs_shard_of, independently."""
    h = 2166136261
    for c in repo.lower().encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h % n if n > 1 else 0


def deployments():
    return [{"org": "acme", "deployment": "dep-%02d" % i, "repository": r, "branch": "master"}
            for i, r in enumerate(REPOS)]


def path_of(i):
    return "/api/1/deployments/acme/dep-%02d/register_deploy" % i


def sha(i, rnd):
    return ("%02d%02d" % (i, rnd)).ljust(40, "c")


def push_body(repo, s):
    p = json.loads(json.dumps(BASE))
    p["repository"]["full_name"] = repo
    p["push"]["changes"][0]["new"]["target"]["hash"] = s
    return json.dumps(p).encode()


def cli(bs, *args):
    out = subprocess.run([H.BIN] + list(args) + ["-c", bs.config], env=bs.env, capture_output=True,
                         timeout=60)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def all_settled(redis, n=3):
    try:
        return all(H.settled(redis, "bstest:%d" % i) for i in range(n))
    except RuntimeError:   # NOGROUP: a worker has not created its group yet
        return False


def shas_sent(sleuth, path):
    with sleuth.lock:
        return [(r["json"] or {}).get("sha") for r in sleuth.requests if r["path"] == path]


def test_thirty_repositories_over_three_shards():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    # The dead letter: the first push of a repository in shard 2.
    dead_i = next(i for i, r in enumerate(REPOS) if fnv_shard(r, 3) == 2)
    refuse = threading.Event()
    refuse.set()

    def responder(req):
        if refuse.is_set() and req["path"] == path_of(dead_i) and \
                (req["json"] or {}).get("sha") == sha(dead_i, 0):
            return (400, '{"error":"bad"}', {})
        return (200, "Success", {})
    sleuth.responder = responder
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, deployments(), extra=SHARDS3))
    try:
        log = bs.log()
        for i in range(3):
            assert "consuming {bstest:%d}:jobs" % i in log, log
        assert redis.cmd("GET", "{bstest}:layout") == b"3"
        rounds = 3
        for rnd in range(rounds):
            for i, repo in enumerate(REPOS):
                st, js, _, _ = bs.post("repo:push", push_body(repo, sha(i, rnd)),
                                       delivery="{sh-%d-%d}" % (i, rnd))
                assert st == 202 and js["status"] == "queued", (st, js)
        H.wait_for(lambda: all_settled(redis), 60, what="every shard settled")
        H.wait_for(lambda: sum(len(shas_sent(sleuth, path_of(i))) for i in range(30)) == 90, 20,
                   what="90 registrations")
        # Per-target order, every push registered (the refused one once).
        for i in range(30):
            assert shas_sent(sleuth, path_of(i)) == [sha(i, r) for r in range(rounds)], \
                (i, shas_sent(sleuth, path_of(i)))
        # Each repository's keys are in its shard and nowhere else.
        per_shard = [0, 0, 0]
        for i, repo in enumerate(REPOS):
            s = fnv_shard(repo, 3)
            per_shard[s] += 1
            target = "acme/dep-%02d/production" % i
            for j in range(3):
                got = redis.cmd("HGET", "{bstest:%d}:deployed" % j, target)
                assert (got is not None) == (j == s), (repo, j, s, got)
                assert (redis.cmd("HGET", "{bstest:%d}:order" % j, target) is not None) == (j == s)
        assert per_shard == [10, 11, 9], per_shard
        assert not redis.cmd("EXISTS", "{bstest}:jobs") and not redis.cmd("EXISTS", "{bstest}:stats")
        registered = []
        for j in range(3):
            assert redis.cmd("EXISTS", "{bstest:%d}:stats" % j)
            registered.append(int(redis.cmd("HGET", "{bstest:%d}:stats" % j, "registered") or 0))
        assert sum(registered) == 89, registered
        assert redis.cmd("XLEN", "{bstest:2}:dead") == 1
        assert redis.cmd("XLEN", "{bstest:0}:dead") == 0 and redis.cmd("XLEN", "{bstest:1}:dead") == 0

        # stats: totals are the sums of the shards, each shard named.
        rc, out, err = cli(bs, "stats", "--json")
        assert rc == 0, err
        st = json.loads(out)
        assert len(st["shards"]) == 3, st
        for j, sh in enumerate(st["shards"]):
            assert sh["shard"] == j and sh["tag"] == "bstest:%d" % j, sh
            assert sh["master"] == "127.0.0.1:%d" % redis.port, sh
        for k in ("jobs", "pending", "retry", "dead"):
            assert st[k] == sum(sh[k] for sh in st["shards"]), (k, st)
        assert st["dead"] == 1 and st["shards"][2]["dead"] == 1
        assert st["counters"]["registered"] == 89 and st["counters"]["queued"] == 90, st["counters"]
        rc, out, err = cli(bs, "stats")
        assert rc == 0, err
        assert "3 shards" in out and ("{bstest:2} on 127.0.0.1:%d" % redis.port) in out, out

        # The dead letter: listed, shown and replayed by ID@2.
        rc, out, err = cli(bs, "dlq", "list", "--json")
        assert rc == 0, err
        (dl,) = json.loads(out)
        assert dl["id"].endswith("@2") and dl["shard"] == 2, dl
        assert dl["target"] == "acme/dep-%02d/production" % dead_i, dl
        plain = dl["id"].rsplit("@", 1)[0]
        rc, out, err = cli(bs, "dlq", "list")
        assert rc == 0 and dl["id"] in out and "1 dead letter" in out, out
        rc, out, err = cli(bs, "dlq", "show", dl["id"])
        assert rc == 0 and ("dead letter %s" % dl["id"]) in out and "dep-%02d" % dead_i in out, (out, err)
        rc, out, err = cli(bs, "dlq", "show", plain, "--json")
        assert rc == 0 and json.loads(out)["id"] == dl["id"], (out, err)
        rc, out, err = cli(bs, "dlq", "show", plain + "@1")
        assert rc == 1 and "no dead letter" in err, (out, err)
        rc, out, err = cli(bs, "dlq", "show", plain + "@3")
        assert rc == 1 and "0..2" in err, (out, err)
        # The same stream id in two shards: the plain id is ambiguous.
        redis.cmd("XADD", "{bstest:0}:dead", plain, "target", "acme/x/production", "reason", "copy")
        rc, out, err = cli(bs, "dlq", "show", plain)
        assert rc == 1 and ("is in shards 0 and 2: give %s@0 or %s@2" % (plain, plain)) in err, (out, err)
        rc, out, err = cli(bs, "dlq", "purge", plain + "@0", "--yes")
        assert rc == 0 and "purged 1 dead letter" in out, (out, err)
        assert redis.cmd("XLEN", "{bstest:0}:dead") == 0 and redis.cmd("XLEN", "{bstest:2}:dead") == 1
        rc, out, err = cli(bs, "dlq", "replay", dl["id"], "--dry-run")
        assert rc == 0 and dl["id"] in out, out
        refuse.clear()
        before = len(shas_sent(sleuth, path_of(dead_i)))
        rc, out, err = cli(bs, "dlq", "replay", dl["id"])
        assert rc == 0 and ("replayed %s as job" % dl["id"]) in out and "1 of 1 replayed" in out, (out, err)
        H.wait_for(lambda: len(shas_sent(sleuth, path_of(dead_i))) == before + 1, 20, what="the replay sent")
        assert shas_sent(sleuth, path_of(dead_i))[-1] == sha(dead_i, 0)
        H.wait_for(lambda: all_settled(redis), 20, what="settled after the replay")
        rc, out, err = cli(bs, "dlq", "list")
        assert rc == 0 and "0 dead letters" in out, out
        rc, out, err = cli(bs, "replay", "--log", "--json")
        assert rc == 0, err
        (rec,) = json.loads(out)
        assert rec["kind"] == "dead" and rec["what"] == plain, rec
        assert redis.cmd("XLEN", "{bstest:2}:replays") == 1
    finally:
        H.shutdown(redis, sleuth, bs)


def run_with(redis, sleuth, extra, mode="run"):
    """bitsleuth MODE with the given queue config; returns (exit status, log)
    when it refuses to start, else the running process."""
    cfg = H.make_config(redis.port, sleuth.url, deployments()[:3], extra=extra)
    d = tempfile.mkdtemp(prefix="bs-it-shards-")
    path = os.path.join(d, "bitsleuth.yaml")
    with open(path, "w") as f:
        f.write(cfg)
    env = dict(os.environ, BS_IT_SECRET=H.SECRET, BS_IT_TOKEN=H.TOKEN)
    p = subprocess.run([H.BIN, mode, "-c", path], env=env, capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode()


def test_layout_guard_refuses_a_change_while_work_is_queued():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    procs = []
    try:
        # Queue one push in a sharded layout, with no worker running.
        serve = H.Bitsleuth(H.make_config(redis.port, sleuth.url, deployments()[:3], extra=SHARDS3),
                            mode="serve")
        procs.append(serve)
        s = fnv_shard(REPOS[1], 3)
        st, js, _, _ = serve.post("repo:push", push_body(REPOS[1], sha(1, 0)), delivery="{guard-1}")
        assert st == 202, js
        assert redis.cmd("XLEN", "{bstest:%d}:jobs" % s) == 1
        assert redis.cmd("GET", "{bstest}:layout") == b"3"
        assert serve.stop() == 0
        procs.remove(serve)
        # shards: 1 is refused while shard s holds the job.
        rc, log = run_with(redis, sleuth, "")
        assert rc != 0, log
        assert "queue.shards changed from 3 to 1 while the old layout still holds 1 jobs and lanes with pushes: drain first" \
            in log, log
        assert redis.cmd("GET", "{bstest}:layout") == b"3"
        # Drain with the old layout, then the switch is accepted.
        run3 = H.Bitsleuth(H.make_config(redis.port, sleuth.url, deployments()[:3], extra=SHARDS3))
        procs.append(run3)
        H.wait_for(lambda: all_settled(redis), 20, what="drained")
        assert shas_sent(sleuth, path_of(1)) == [sha(1, 0)]
        assert run3.stop() == 0
        procs.remove(run3)
        run1 = H.Bitsleuth(H.make_config(redis.port, sleuth.url, deployments()[:3]))
        procs.append(run1)
        H.wait_for(lambda: "queue.shards changed from 3 to 1; the old layout was empty" in run1.log(), 10,
                   what="the switch logged")
        assert redis.cmd("GET", "{bstest}:layout") == b"1"
        st, js, _, _ = run1.post("repo:push", push_body(REPOS[1], sha(1, 1)), delivery="{guard-2}")
        assert st == 202, js
        H.wait_for(lambda: shas_sent(sleuth, path_of(1)) == [sha(1, 0), sha(1, 1)], 20, what="unsharded push")
        assert H.settled(redis)
    finally:
        H.shutdown(redis, sleuth, *procs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
