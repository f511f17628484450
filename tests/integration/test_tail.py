#!/usr/bin/env python3
"""`bitsleuth tail` (issue 15) through the real binary and a real
redis-server: deliveries accepted by a real `run` are printed from
{p}:events (human and --json, in both queue.events_format encodings), their
outcomes from {p}:deploys; a follower started before the deliveries sees
them come; `--group G` resumes after what an earlier run acknowledged, and
a run killed between printing and acknowledging loses nothing; every shard
is read, on one Redis and on a Redis Cluster; usage errors exit 2 (`--group workers` among them); Redis
unreachable and queue.events: false exit 1; a Redis restart while it
follows is survived.

The group tests write entries of the contract's shape (queue/record.h)
with XADD themselves, so that what each run must print is known exactly.
Every wait is bounded; nothing is timed."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

DEMO = os.path.join(H.SOURCE_DIR, "examples", "demo", "push-SHOP-1234.json")
DEMO_SHA = "e42fac24456e4a56f1b7f9358afc3070e3b7ddec"
DEP = {"org": "acme", "deployment": "temp", "repository": "cloudbeers/temp", "branch": "main"}
HOOK = {"X-Hook-UUID": "{%s}" % ("7" * 32)}
EVENTS = "{bstest}:events"
DEPLOYS = "{bstest}:deploys"


def run_cli(config, *args, env=None, timeout=60):
    out = subprocess.run([H.BIN, "tail", "-c", config] + list(args), env=env, capture_output=True,
                         timeout=timeout)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def push(i):
    """The demo push with issue key SHOP-<100+i> and a sha of its own."""
    with open(DEMO, "rb") as f:
        body = f.read().decode()
    sha = ("%04d" % i).ljust(40, "a")
    return body.replace("SHOP-1234", "SHOP-%d" % (100 + i)).replace(DEMO_SHA, sha).encode(), sha


def start(extra="", deployments=(DEP,)):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, list(deployments), extra=extra))
    return redis, sleuth, bs


def deliver(bs, n, first=0):
    """Posts n pushes; [(delivery id, job id, sha, key)] from their 202s."""
    out = []
    for i in range(first, first + n):
        body, sha = push(i)
        delivery = "{%032x}" % (0xd0 + i)
        st, js, raw, _ = bs.post("repo:push", body, headers=HOOK, delivery=delivery)
        assert st == 202, (st, raw)
        assert js["issues"] == ["SHOP-%d" % (100 + i)], js
        out.append((js["delivery"], js["job"], sha, "SHOP-%d" % (100 + i)))
    return out


class Follower:
    """`bitsleuth tail ARGS` as a subprocess whose stdout lines are
    collected by a thread."""

    def __init__(self, config, *args):
        self.proc = subprocess.Popen([H.BIN, "tail", "-c", config] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        H._procs.append(self.proc)
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.decode().rstrip("\n"))

    def got(self):
        with self.lock:
            return list(self.lines)

    def wait(self, timeout=30):
        rc = self.proc.wait(timeout=timeout)
        self.thread.join(10)
        return rc, self.proc.stderr.read().decode()


def reading(redis, group=False):
    """Whether a client's last command was XREAD (group: XREADGROUP; the
    workers of a running bitsleuth use that too, so only without one): a
    follower that sent it has fixed where it starts."""
    cmd = re.compile(r"\bcmd=%s\b" % ("xreadgroup" if group else "xread"))
    return any(cmd.search(c) for c in redis.cmd("CLIENT", "LIST").decode().splitlines())


def has_group(redis, key, group):
    try:
        return any(dict(zip(g[::2], g[1::2]))[b"name"] == group.encode()
                   for g in redis.cmd("XINFO", "GROUPS", key))
    except RuntimeError:    # no such key yet
        return False


def line_of(lines, delivery):
    got = [ln for ln in lines if "delivery=%s" % delivery in ln]
    assert len(got) == 1, (delivery, lines)
    return got[0]


def test_deliveries_listed_with_since_human_and_json():
    redis, sleuth, bs = start()
    try:
        sent = deliver(bs, 3)
        H.wait_for(lambda: redis.cmd("XLEN", EVENTS) == 3, 15, what="3 entries on {p}:events")
        rc, out, err = run_cli(bs.config, "--since", "1h", "--count", "3")
        assert rc == 0, (rc, out, err)
        lines = out.splitlines()
        assert len(lines) == 3, out
        for (delivery, job, _, key), ln in zip(sent, lines):
            assert ln == line_of(lines, delivery), (ln, delivery)
            f = ln.split("  ")
            assert f[0].endswith("Z") and f[1] == "repo:push" and f[2] == "cloudbeers/temp", ln
            assert "job=%s" % job in f and "keys=%s" % key in f, ln
        rc, out, err = run_cli(bs.config, "--json", "--since", "1h", "--count", "3")
        assert rc == 0, err
        recs = [json.loads(ln) for ln in out.splitlines()]
        assert len(recs) == 3, out
        for (delivery, job, _, key), r in zip(sent, recs):
            assert r["stream"] == "events" and r["shard"] == 0 and r["id"], r
            assert r["delivery"] == delivery and r["job"] == job, r
            assert r["event"] == "repo:push" and r["repository"] == "cloudbeers/temp", r
            assert r["v"] == "1" and r["format"] == "msgpack" and int(r["received_ms"]) > 0, r
            d = r["data"]
            assert d["v"] == 1 and d["delivery"] == delivery, d
            assert [k["key"] for k in d["keys"]] == [key], d
            assert d["event"]["repository"] == "cloudbeers/temp", d
        # The ids are the stream's, in its order.
        ids = [e[0].decode() for e in redis.cmd("XRANGE", EVENTS, "-", "+")]
        assert [r["id"] for r in recs] == ids, (recs, ids)

        # Outcomes: three registered deploys.
        H.wait_for(lambda: redis.cmd("XLEN", DEPLOYS) == 3, 20, what="3 outcomes on {p}:deploys")
        rc, out, err = run_cli(bs.config, "--deploys", "--since", "1h", "--count", "3")
        assert rc == 0, err
        lines = out.splitlines()
        assert len(lines) == 3, out
        for delivery, job, sha, key in sent:
            ln = line_of(lines, delivery)
            f = ln.split("  ")
            assert f[1] == "registered" and f[2] == "acme/temp/production", ln
            assert "sha=%s" % sha[:12] in f and "keys=%s" % key in f and "job=%s" % job in f, ln
        rc, out, err = run_cli(bs.config, "--deploys", "--json", "--since", "1h", "--count", "3")
        assert rc == 0, err
        recs = {json.loads(ln)["delivery"]: json.loads(ln) for ln in out.splitlines()}
        for delivery, job, sha, key in sent:
            r = recs[delivery]
            assert r["stream"] == "deploys" and r["kind"] == "registered" and r["job"] == job, r
            assert r["target"] == "acme/temp/production", r
            assert r["data"]["sha"] == sha and r["data"]["keys"] == [key], r
            assert r["data"]["kind"] == "registered" and r["data"]["status"] == 200, r
    finally:
        H.shutdown(redis, sleuth, bs)


def test_json_format_records_embedded_and_dead_outcome_shown():
    redis, sleuth, bs = start(extra="queue:\n  events_format: json\n")
    sleuth.responder = lambda req: (400, '{"error":"no such environment"}', {})
    try:
        (delivery, job, sha, key), = deliver(bs, 1)
        H.wait_for(lambda: redis.cmd("XLEN", EVENTS) == 1, 15, what="the events entry")
        rc, out, err = run_cli(bs.config, "--json", "--since", "1h", "--count", "1")
        assert rc == 0, err
        r = json.loads(out)
        assert r["format"] == "json" and r["delivery"] == delivery, r
        assert [k["key"] for k in r["data"]["keys"]] == [key], r
        rc, out, err = run_cli(bs.config, "--since", "1h", "--count", "1")
        assert rc == 0 and "keys=%s" % key in out and "data=?" not in out, out
        H.wait_for(lambda: redis.cmd("XLEN", DEPLOYS) == 1, 20, what="the dead outcome")
        rc, out, err = run_cli(bs.config, "--deploys", "--since", "1h", "--count", "1")
        assert rc == 0, err
        f = out.rstrip("\n").split("  ")
        assert f[1] == "dead" and f[2] == "acme/temp/production", out
        assert any(x.startswith('reason="') for x in f), out
        rc, out, err = run_cli(bs.config, "--deploys", "--json", "--since", "1h", "--count", "1")
        r = json.loads(out)
        assert r["kind"] == "dead" and r["format"] == "json" and r["data"]["reason"], r
        assert r["data"]["status"] == 400 and r["job"] == job, r
    finally:
        H.shutdown(redis, sleuth, bs)


def test_follower_started_first_sees_new_deliveries():
    redis, sleuth, bs = start()
    try:
        deliver(bs, 1)     # older: a follower without --since never shows it
        H.wait_for(lambda: redis.cmd("XLEN", EVENTS) == 1, 15, what="the first entry")
        f = Follower(bs.config, "--count", "3")
        H.wait_for(lambda: reading(redis), 15, what="the follower's first read")
        sent = deliver(bs, 3, first=1)
        rc, err = f.wait(30)
        lines = f.got()
        assert rc == 0, (rc, err, lines)
        assert len(lines) == 3, lines
        for (delivery, job, _, key), ln in zip(sent, lines):
            assert "delivery=%s" % delivery in ln and "job=%s" % job in ln, (ln, delivery)
            assert ln.endswith("keys=%s" % key), ln
    finally:
        H.shutdown(redis, sleuth, bs)


# ---- consumer groups, over entries written by hand in the contract's shape

def xadd_event(redis, i, key=EVENTS):
    rec = {"v": 1, "delivery": "dl-%d" % i, "received_ms": 1764856800000 + i,
           "event": {"repository": "acme/shop", "type": "push", "event_key": "repo:push"},
           "keys": [{"key": "SHOP-%d" % i, "where": "commit", "change": 0, "commit": 0}]}
    return redis.cmd("XADD", key, "*", "v", "1", "delivery", "dl-%d" % i, "event", "repo:push",
                     "repository", "acme/shop", "received_ms", str(1764856800000 + i),
                     "job", "%d-0" % (1000 + i), "format", "msgpack",
                     "data", msgpack.packb(rec)).decode()


def config_only(redis, extra=""):
    """A config file for the tail alone (no bitsleuth process)."""
    d = tempfile.mkdtemp(prefix="bs-it-tail-")
    H._dirs.append(d)
    path = os.path.join(d, "bitsleuth.yaml")
    with open(path, "w") as f:
        f.write(H.make_config(redis.port, "http://127.0.0.1:9", [DEP], extra=extra))
    return path


def delivered(lines):
    return [ln.split("delivery=")[1].split()[0] for ln in lines]


def test_group_resumes_after_what_it_acknowledged():
    redis = H.RedisServer()
    try:
        cfg = config_only(redis)
        for i in range(5):
            xadd_event(redis, i)
        rc, out, err = run_cli(cfg, "--group", "g1", "--since", "1h", "--count", "2")
        assert rc == 0, err
        first = delivered(out.splitlines())
        assert first == ["dl-0", "dl-1"], out
        # Acknowledged: nothing pending; the group was made MKSTREAM at --since.
        assert redis.cmd("XPENDING", EVENTS, "g1")[0] == 0
        xadd_event(redis, 5)
        rc, out, err = run_cli(cfg, "--group", "g1", "--since", "1h", "--count", "4")
        assert rc == 0, err
        assert "exists" in err, err    # --since ignored, said so
        assert delivered(out.splitlines()) == ["dl-2", "dl-3", "dl-4", "dl-5"], out
        assert redis.cmd("XPENDING", EVENTS, "g1")[0] == 0
        # Another group reads everything again, on its own.
        rc, out, err = run_cli(cfg, "--group", "g2", "--since", "1h", "--count", "6", "--json")
        assert rc == 0, err
        recs = [json.loads(ln) for ln in out.splitlines()]
        assert [r["delivery"] for r in recs] == ["dl-%d" % i for i in range(6)], out
        assert recs[3]["data"]["keys"][0]["key"] == "SHOP-3", recs[3]
        consumers = redis.cmd("XINFO", "CONSUMERS", EVENTS, "g2")
        names = [dict(zip(c[::2], c[1::2]))[b"name"].decode() for c in consumers]
        assert names == ["tail-" + socket.gethostname()], names
        # A group created without --since starts at the end.
        f = Follower(cfg, "--group", "g3", "--consumer", "c1", "--count", "1")
        H.wait_for(lambda: has_group(redis, EVENTS, "g3"), 15, what="the g3 group")
        xadd_event(redis, 6)
        rc, err = f.wait(30)
        assert rc == 0 and delivered(f.got()) == ["dl-6"], (rc, err, f.got())
    finally:
        redis.close()


def test_closed_pipe_and_a_short_command_timeout():
    """`tail | head -n1`: the closed pipe is a write error (exit 1, what was
    not written stays pending), not a death by SIGPIPE. A command timeout
    shorter than the usual blocking slice: the reads stay below it (no
    endless reconnects)."""
    redis = H.RedisServer()
    try:
        cfg = config_only(redis)
        for i in range(50):
            xadd_event(redis, i)
        env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET=H.SECRET, SLEUTH_API_TOKEN=H.TOKEN)
        p = subprocess.Popen([H.BIN, "tail", "-c", cfg, "--group", "gp", "--since", "1h"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        p.stdout.readline()
        p.stdout.close()
        try:
            rc = p.wait(30)
        finally:
            if p.poll() is None:
                p.kill()
        err = p.stderr.read().decode()
        p.stderr.close()
        assert rc == 1, (rc, err)
        pending = int(redis.cmd("XPENDING", EVENTS, "gp")[0])
        assert 1 <= pending < 50, pending   # what it could not write stays
        short = config_only(redis)
        with open(short) as f:
            text = f.read()
        with open(short, "w") as f:
            f.write(re.sub(r"command_timeout_ms: \d+", "command_timeout_ms: 40", text))
        f = Follower(short, "--count", "1")
        time.sleep(1.5)
        xadd_event(redis, 99)
        rc, err = f.wait(30)
        assert rc == 0 and delivered(f.got()) == ["dl-99"], (rc, err, f.got())
        assert "reconnect" not in err, err
    finally:
        redis.close()


def test_killed_group_tail_loses_nothing():
    redis = H.RedisServer()
    try:
        cfg = config_only(redis)
        n = 40
        f = Follower(cfg, "--group", "gk", "--consumer", "k1", "--since", "1h")
        for i in range(n):
            xadd_event(redis, i)
        H.wait_for(lambda: len(f.got()) >= 3, 30, what="3 lines of the follower")
        f.proc.kill()
        f.wait(10)
        first = delivered(f.got())
        # What it printed is the stream's beginning, in order, no repeats.
        assert first == ["dl-%d" % i for i in range(len(first))], first
        # The same consumer again: its pending entries first, then the rest.
        g = Follower(cfg, "--group", "gk", "--consumer", "k1")
        want = {"dl-%d" % i for i in range(n)}
        H.wait_for(lambda: want <= set(first) | set(delivered(g.got())), 30,
                   what=lambda: "every entry after the restart (got %s)" % delivered(g.got()))
        H.wait_for(lambda: reading(redis, group=True), 15, what="the restarted follower's read")
        g.proc.send_signal(signal.SIGTERM)
        rc, err = g.wait(30)
        assert rc == 0, (rc, err)
        second = delivered(g.got())
        assert len(second) == len(set(second)), second
        # Repeated at most: what the first printed and had not acknowledged.
        again = set(first) & set(second)
        assert len(again) <= 1, (first, second)
        assert redis.cmd("XPENDING", EVENTS, "gk")[0] == 0
        # Killed right after its read, before printing: the entries are
        # k1's pending ones, printed first on the next start.
        for i in range(n, n + 3):
            xadd_event(redis, i)
        redis.cmd("XREADGROUP", "GROUP", "gk", "k1", "COUNT", "2", "STREAMS", EVENTS, ">")
        assert redis.cmd("XPENDING", EVENTS, "gk")[0] == 2
        rc, out, err = run_cli(cfg, "--group", "gk", "--consumer", "k1", "--count", "3")
        assert rc == 0, err
        assert delivered(out.splitlines()) == ["dl-%d" % i for i in range(n, n + 3)], out
        assert redis.cmd("XPENDING", EVENTS, "gk")[0] == 0
    finally:
        redis.close()


def test_redis_restart_while_following():
    redis = H.RedisServer(appendonly=True)
    try:
        cfg = config_only(redis)
        xadd_event(redis, 0)
        plain = Follower(cfg, "--since", "1h", "--count", "3")
        grp = Follower(cfg, "--group", "gr", "--since", "1h", "--count", "3")
        H.wait_for(lambda: "dl-0" in delivered(plain.got()) and "dl-0" in delivered(grp.got()), 15,
                   what="the first entry on both followers")
        redis.stop()
        redis.start()
        H.wait_for(lambda: reading(redis) and reading(redis, group=True), 30,
                   what="both followers reading again")
        xadd_event(redis, 1)
        xadd_event(redis, 2)
        for f in (plain, grp):
            rc, err = f.wait(60)
            assert rc == 0 and delivered(f.got()) == ["dl-0", "dl-1", "dl-2"], (rc, err, f.got())
            assert "reconnecting" in err and "reconnected" in err, err
        assert redis.cmd("XPENDING", EVENTS, "gr")[0] == 0
    finally:
        redis.close()


def test_human_lines_cut_and_undecodable_records():
    redis = H.RedisServer()
    try:
        cfg = config_only(redis)
        rec = {"v": 1, "delivery": "big", "keys": [{"key": "K-%d" % i} for i in range(30)]}
        redis.cmd("XADD", EVENTS, "*", "v", "1", "delivery", "big", "event", "repo:push",
                  "repository", "acme/" + "x" * 1000 + "\nnext", "received_ms", "1",
                  "job", "1-0", "format", "msgpack", "data", msgpack.packb(rec))
        redis.cmd("XADD", EVENTS, "*", "v", "1", "delivery", "bad", "event", "repo:push",
                  "repository", "acme/sh\nop", "received_ms", "1", "job", "2-0",
                  "format", "msgpack", "data", b"\xc1not msgpack")
        redis.cmd("XADD", EVENTS, "*", "v", "1", "delivery", "badjson", "event", "repo:push",
                  "repository", "acme/shop", "received_ms", "1", "job", "3-0",
                  "format", "json", "data", '{"v": 1, "keys": [')
        rc, out, err = run_cli(cfg, "--events", "--since", "1h", "--count", "3")
        assert rc == 0, err
        lines = out.splitlines()
        assert len(lines) == 3, out
        big = lines[0]
        assert "  acme/" + "x" * 155 + "...  " in big and "next" not in big, big
        assert "keys=" + ",".join("K-%d" % i for i in range(20)) + ",+10 more" in big, big
        assert "  acme/sh?op  " in lines[1], lines[1]
        assert lines[1].endswith("job=2-0  data=?") and lines[2].endswith("job=3-0  data=?"), lines
        rc, out, err = run_cli(cfg, "--json", "--since", "1h", "--count", "3")
        assert rc == 0, err
        recs = [json.loads(ln) for ln in out.splitlines()]
        assert recs[0]["repository"].endswith("x\nnext") and len(recs[0]["data"]["keys"]) == 30, recs[0]
        assert recs[1]["data"] is None and recs[2]["data"] is None, recs[1:]
    finally:
        redis.close()


def fnv_shard(repo, n):
    """queue/shard.h's bs_shard_of (FNV-1a 32-bit of the lower-cased
    repository, modulo n), independently."""
    h = 2166136261
    for c in repo.lower().encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h % n


def push_to(repo, sha):
    """A Cloud push to branch master of repo with head sha."""
    p = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
    p["repository"]["full_name"] = repo
    p["push"]["changes"][0]["new"]["target"]["hash"] = sha
    return json.dumps(p).encode()


def test_every_shard_is_read():
    repos = ["acme/repo-%02d" % i for i in range(10)]
    by = {}
    for r in repos:
        by.setdefault(fnv_shard(r, 2), r)
    assert set(by) == {0, 1}, by
    deps = [{"org": "acme", "deployment": "d%d" % s, "repository": r, "branch": "master"}
            for s, r in sorted(by.items())]
    redis, sleuth, bs = start(extra="queue:\n  shards: 2\n", deployments=deps)
    try:
        want = {}
        for s, r in sorted(by.items()):
            sha = ("%d" % s).ljust(40, "b")
            st, js, raw, _ = bs.post("repo:push", push_to(r, sha), headers=HOOK)
            assert st == 202, raw
            want[js["delivery"]] = (s, js["job"], r)
        for s in (0, 1):
            H.wait_for(lambda: redis.cmd("XLEN", "{bstest:%d}:events" % s) == 1, 15,
                       what="shard %d's events entry" % s)
        rc, out, err = run_cli(bs.config, "--json", "--since", "1h", "--count", "2")
        assert rc == 0, err
        recs = [json.loads(ln) for ln in out.splitlines()]
        got = {r["delivery"]: (r["shard"], r["job"], r["repository"]) for r in recs}
        assert got == want, (got, want)
        rc, out, err = run_cli(bs.config, "--since", "1h", "--count", "2")
        assert rc == 0 and sorted(ln.split()[-1] for ln in out.splitlines()) == \
            ["shard=0", "shard=1"], out
        # A follower of both shards sees a new entry of either.
        f = Follower(bs.config, "--group", "gs", "--count", "2")
        H.wait_for(lambda: all(has_group(redis, "{bstest:%d}:events" % s, "gs") for s in (0, 1)), 15,
                   what="the gs group on both shards")
        for s in (1, 0):
            xadd_event(redis, 10 + s, key="{bstest:%d}:events" % s)
        rc, err = f.wait(30)
        assert rc == 0 and sorted(delivered(f.got())) == ["dl-10", "dl-11"], (err, f.got())
    finally:
        H.shutdown(redis, sleuth, bs)


def test_shards_on_a_cluster():
    """queue.shards 3 on a Redis Cluster of three masters: each shard's
    stream is read from the master that owns its slot."""
    import redis_topo as T
    c = T.Cluster(masters=3, replicas_per_master=0)
    try:
        d = tempfile.mkdtemp(prefix="bs-it-tail-")
        H._dirs.append(d)
        cfg = os.path.join(d, "bitsleuth.yaml")
        with open(cfg, "w") as f:
            f.write(T.topo_config(c.redis_yaml(), "http://127.0.0.1:9", [DEP], shards=3))
        tags = T.shard_tags("bstest", 3)
        owners = {c.owner_of_slot(T.keyslot(t)) for t in tags}
        assert len(owners) > 1, "the three shards' slots on one master: nothing to show"
        for i, t in enumerate(tags):
            xadd_event(c.client_for(t), i, key="{%s}:events" % t)
        rc, out, err = run_cli(cfg, "--json", "--since", "1h", "--count", "3")
        assert rc == 0, (rc, out, err)
        got = sorted((json.loads(ln)["shard"], json.loads(ln)["delivery"]) for ln in out.splitlines())
        assert got == [(0, "dl-0"), (1, "dl-1"), (2, "dl-2")], out
        rc, out, err = run_cli(cfg, "--group", "gc", "--since", "1h", "--count", "3")
        assert rc == 0 and sorted(delivered(out.splitlines())) == ["dl-0", "dl-1", "dl-2"], (out, err)
        for t in tags:
            assert c.client_for(t).cmd("XPENDING", "{%s}:events" % t, "gc")[0] == 0, t
    finally:
        c.stop()


def test_usage_and_failures():
    redis = H.RedisServer()
    try:
        cfg = config_only(redis)
        for args in (["--bogus"], ["--since", "soon"], ["--count", "0"], ["--count", "x"],
                     ["--events", "--deploys"], ["--consumer", "c"], ["--group"],
                     ["--group", ""], ["--group", "a b"], ["extra"], ["--group", "workers"]):
            rc, out, err = run_cli(cfg, *args)
            assert rc == 2 and out == "" and len(err.splitlines()) == 1, (args, rc, out, err)
        rc, out, err = run_cli(cfg, "--group", "workers")
        assert "workers" in err and "own" in err, err
        assert not redis.cmd("KEYS", "*"), "a refused tail wrote nothing"
        rc, out, err = run_cli(cfg, "--help")
        assert rc == 0 and out.startswith("usage: bitsleuth tail"), out
        # queue.events: false: nothing to follow.
        off = config_only(redis, extra="queue:\n  events: false\n")
        rc, out, err = run_cli(off, "--since", "1h")
        assert rc == 1 and "queue.events" in err and out == "", (rc, out, err)
        # Redis unreachable.
        port = redis.port
        redis.stop()
        rc, out, err = run_cli(cfg, "--count", "1")
        assert rc == 1 and "127.0.0.1:%d" % port in err, (rc, out, err)
    finally:
        redis.close()


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
