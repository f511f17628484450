#!/usr/bin/env python3
"""The example consumers of examples/consumers/ (issue 15) against a real
redis-server and a real `bitsleuth run`: the Python one
(examples/consumers/python/consumer.py, on /usr/bin/python3) and the C one
(the example_consumer target) each read {p}:events with a group of its own
and see every accepted delivery exactly once, in both encodings
(queue.events_format msgpack and json) and over two shards' streams,
although they start after the workers finished; a consumer stopped by
--count, then one SIGKILLed while it held unacknowledged entries, resumes:
the next run with the same consumer name prints its pending entries first
and then the rest, so the runs together see every delivery, and only an
entry printed but not acknowledged at the kill twice; SIGTERM ends a
blocked one with exit 0; pointed at {p}:deploys, both print each outcome's
kind, target and issue keys."""
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

PY_CONSUMER = os.path.join(H.SOURCE_DIR, "examples", "consumers", "python", "consumer.py")
C_CONSUMER = os.path.join(os.path.dirname(H.BIN), "example_consumer")
PREFIX = "bstest"
# A deployment no fixture hits: the workers finish every job at once.
NOWHERE = {"org": "acme", "deployment": "nowhere", "repository": "acme/nowhere", "branch": "main"}
N_CLOUD, N_DC = 10, 6


def command(kind):
    if kind == "py":
        return ["/usr/bin/python3", PY_CONSUMER]
    if not os.path.exists(C_CONSUMER):
        H.fail("%s not built (CMake target example_consumer)" % C_CONSUMER)
    return [C_CONSUMER]


def streams_of(shards):
    if shards == 1:
        return ["{%s}:events" % PREFIX]
    return ["{%s:%d}:events" % (PREFIX, i) for i in range(shards)]


def start(fmt="msgpack", shards=1):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    # No content dedupe: a fixture posted again (with other issue keys,
    # under another delivery id) is another delivery here.
    extra = "queue:\n  events_format: %s\n  content_dedupe: false\n" % fmt
    if shards > 1:
        extra += "  shards: %d\n" % shards
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [NOWHERE], prefix=PREFIX, extra=extra))
    return redis, sleuth, bs


def with_keys(body, key, i):
    """The fixture with issue keys of its own (the fixtures have few): in
    each Cloud commit's message, in each Data Center branch's name; i makes
    them differ from one posting to the next."""
    js = json.loads(body)
    if key == "repo:push":
        for c in js["push"]["changes"]:
            for n, commit in enumerate(c.get("commits") or []):
                commit["message"] = "SHOP-%d: %s" % (1000 + 10 * i + n, commit.get("message") or "")
    else:
        for c in js.get("changes") or []:
            if c["ref"].get("type") == "BRANCH":
                c["ref"]["displayId"] = "feature/OPS-%d" % (100 + i)
                c["ref"]["id"] = "refs/heads/feature/OPS-%d" % (100 + i)
                c["refId"] = c["ref"]["id"]
    return json.dumps(js).encode()


def post_pushes(bs, cloud=N_CLOUD, dc=N_DC, tag="", base=0):
    """Posts Cloud and Data Center push fixtures (their keys numbered from
    base); returns {delivery: (job, event key, issue keys)} of those queued
    (202 with a job id)."""
    got = {}
    todo = ([(p, k) for p, k, _ in H.fixtures("repo:push")][:cloud]
            + [(p, k) for p, k, _ in H.fixtures("repo:refs_changed")][:dc])
    for i, (path, key) in enumerate(todo):
        body = with_keys(H.read_fixture(path), key, base + i)
        st, js, raw, _ = bs.post(key, body, headers={"X-Request-Id": "it-%s%d" % (tag, i)})
        assert st in (200, 202), (path, st, raw)
        if st == 202 and js.get("status") == "queued":
            got[js["delivery"]] = (js["job"], key, sorted(set(js.get("issues") or [])))
    return got


def events_len(redis, streams):
    return sum(redis.cmd("XLEN", s) for s in streams)


def wait_events(redis, streams, n):
    H.wait_for(lambda: events_len(redis, streams) >= n, 20,
               what=lambda: "%d entries on %s (have %d)" % (n, streams, events_len(redis, streams)))
    assert events_len(redis, streams) == n, (events_len(redis, streams), n)


def entry_fields(redis, stream, entry_id):
    r = redis.cmd("XRANGE", stream, entry_id, entry_id)
    assert r and len(r) == 1, (stream, entry_id, r)
    f = r[0][1]
    return {k.decode(): v for k, v in zip(f[::2], f[1::2])}


class Run:
    """One consumer process; its stdout lines collected by a thread. With
    stall, its stdout is a pipe of one page that nobody reads until
    read() is called: the consumer stops in a write, between two entries,
    once a page of lines is out."""

    def __init__(self, kind, redis, streams, *args, stall=False):
        argv = command(kind) + ["--redis", "127.0.0.1:%d" % redis.port]
        for s in streams:
            argv += ["--stream", s]
        r, w = os.pipe()
        if stall:
            fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
        self.proc = subprocess.Popen(argv + list(args), stdout=w, stderr=subprocess.PIPE,
                                     env=dict(os.environ, REDIS_PASSWORD=""))
        os.close(w)
        self.out = os.fdopen(r, "rb")
        H._procs.append(self.proc)
        self.lines = []
        self.err = b""
        self.t_out = threading.Thread(target=self._read, daemon=True)
        self.reading = False
        if not stall:
            self.read()
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_err.start()

    def read(self):
        if not self.reading:
            self.reading = True
            self.t_out.start()

    def _read(self):
        for line in self.out:
            self.lines.append(line.decode().rstrip("\n"))

    def _read_err(self):
        self.err = self.proc.stderr.read()

    def wait(self, timeout=60):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            H.fail("consumer %s did not exit within %ds" % (self.proc.args, timeout))
        self.read()
        self.t_out.join(10)
        self.t_err.join(10)
        self.out.close()
        return rc

    def entries(self):
        """[(stream, id, delivery, event, repository, [keys])] as printed."""
        out = []
        for line in self.lines:
            parts = line.split(" ")
            assert len(parts) == 6 and parts[5].startswith("keys="), line
            keys = parts[5][5:]
            out.append((parts[0], parts[1], parts[2], parts[3], parts[4],
                        [] if keys == "-" else sorted(set(keys.split(",")))))
        return out


def finished(run, what):
    rc = run.wait()
    if rc != 0:
        H.fail("%s exited %s: %s" % (what, rc, run.err.decode()[-2000:]))
    return run.entries()


def check_against(redis, printed, accepted):
    """Every printed line is the entry it names, with the delivery's job,
    event key and issue keys."""
    for stream, entry_id, delivery, event, repo, keys in printed:
        assert delivery in accepted, (delivery, sorted(accepted))
        job, key, issues = accepted[delivery]
        f = entry_fields(redis, stream, entry_id)
        assert f["delivery"].decode() == delivery and f["job"].decode() == job, (f, job)
        assert event == key == f["event"].decode(), (event, key)
        assert repo == (f["repository"].decode() or "-"), (repo, f["repository"])
        assert keys == issues, (delivery, keys, issues)


def pending(redis, stream, group):
    return redis.cmd("XPENDING", stream, group)[0]


def consumer_info(redis, stream, group, name):
    """XINFO CONSUMERS' fields of one consumer ({} before it exists)."""
    for c in redis.cmd("XINFO", "CONSUMERS", stream, group):
        d = {c[i].decode(): c[i + 1] for i in range(0, len(c), 2)}
        if d["name"] == name.encode():
            return d
    return {}


def every_delivery_once(fmt, shards):
    redis, sleuth, bs = start(fmt, shards)
    try:
        accepted = post_pushes(bs)
        assert len(accepted) >= 12, accepted
        assert sum(1 for v in accepted.values() if v[2]) >= 6, ("too few with issue keys", accepted)
        streams = streams_of(shards)
        wait_events(redis, streams, len(accepted))
        if shards > 1:
            assert all(redis.cmd("XLEN", s) > 0 for s in streams), "a shard without deliveries"
        # Started late: every job is finished (and its jobs entry deleted)
        # before either consumer reads anything.
        H.wait_for(lambda: all(H.settled(redis, p) for p in
                               ([PREFIX] if shards == 1 else ["%s:%d" % (PREFIX, i) for i in range(shards)])),
                   30, what="every job finished")
        formats = {entry_fields(redis, s, e[0])["format"].decode()
                   for s in streams for e in redis.cmd("XRANGE", s, "-", "+")}
        assert formats == {fmt}, formats
        runs = {kind: Run(kind, redis, streams, "--idle-exit", "3") for kind in ("py", "c")}
        for kind, run in runs.items():
            printed = finished(run, "the %s consumer" % kind)
            deliveries = [p[2] for p in printed]
            assert sorted(deliveries) == sorted(accepted), (kind, deliveries, sorted(accepted))
            assert len(set(p[:2] for p in printed)) == len(printed), (kind, "an entry twice")
            check_against(redis, printed, accepted)
            group = "example-%s" % kind
            assert all(pending(redis, s, group) == 0 for s in streams), (kind, "left pending")
        # The groups are the consumers' own: bitsleuth's workers do not
        # read this stream, and the entries are still there.
        assert events_len(redis, streams) == len(accepted)
        for s in streams:
            groups = {g[1].decode() for g in redis.cmd("XINFO", "GROUPS", s)}
            assert groups == {"example-py", "example-c"}, (s, groups)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_every_delivery_once_msgpack():
    every_delivery_once("msgpack", 1)


def test_every_delivery_once_json():
    every_delivery_once("json", 1)


def test_every_delivery_once_two_shards():
    every_delivery_once("json", 2)
    every_delivery_once("msgpack", 2)


def read_deploys(fmt):
    """Pointed at {p}:deploys, both print each outcome: kind, target and
    the issue keys sent (plain strings there)."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    foo = {"org": "acme", "deployment": "foo", "repository": "brydzewski/foo", "branch": "master"}
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [foo], prefix=PREFIX,
                                   extra="queue:\n  events_format: %s\n" % fmt))
    try:
        path = "drone-go-scm/cloud_repo-push_branch.json"
        st, js, raw, _ = bs.post("repo:push", with_keys(H.read_fixture(path), "repo:push", 7))
        assert st == 202 and js["issues"] == ["SHOP-1070"], (st, raw)
        H.wait_for(lambda: sleuth.answered(200) and H.settled(redis, PREFIX), 30, what="the deploy")
        stream = "{%s}:deploys" % PREFIX
        wait_events(redis, [stream], 1)
        for kind in ("py", "c"):
            printed = finished(Run(kind, redis, [stream], "--idle-exit", "2"), "the %s consumer" % kind)
            assert [p[2:] for p in printed] == [
                (js["delivery"], "registered", "acme/foo/production", ["SHOP-1070"])], (kind, printed)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_both_read_the_deploys_stream_json():
    read_deploys("json")


def test_both_read_the_deploys_stream_msgpack():
    read_deploys("msgpack")


def resume(kind, fmt):
    redis, sleuth, bs = start(fmt)
    stream = streams_of(1)[0]
    group, me = "resume-%s" % kind, "worker-1"
    try:
        # Enough entries for more than a page of printed lines (run 2).
        accepted = {}
        for n in range(4):
            accepted.update(post_pushes(bs, tag="a%d-" % n, base=100 * n))
        wait_events(redis, [stream], len(accepted))
        assert len(accepted) >= 60, len(accepted)
        ids = [e[0].decode() for e in redis.cmd("XRANGE", stream, "-", "+")]
        args = ("--group", group, "--consumer", me)

        # 1: --count 4 prints the first four and acknowledges them.
        first = finished(Run(kind, redis, [stream], "--count", "4", *args), "run 1")
        assert [p[1] for p in first] == ids[:4], (first, ids)
        assert pending(redis, stream, group) == 0

        # A crash between read and acknowledge: two entries given to this
        # consumer and never acknowledged (what a SIGKILL after the read
        # leaves).
        held = redis.cmd("XREADGROUP", "GROUP", group, me, "COUNT", "2", "STREAMS", stream, ">")
        held = [e[0].decode() for e in held[0][1]]
        assert held == ids[4:6], (held, ids)

        # 2: prints those first, then goes on, until its stdout (a page
        # nobody reads) is full: it then holds a batch it read and did not
        # acknowledge, and stays away from Redis. SIGKILLed there.
        run2 = Run(kind, redis, [stream], *args, stall=True)

        def stalled():
            c = consumer_info(redis, stream, group, me)
            return c and 0 < c["pending"] < len(ids) - 4 and c["idle"] > 1000
        H.wait_for(stalled, 30, what=lambda: "run 2 to stall in a write: %r" % consumer_info(
            redis, stream, group, me))
        run2.proc.kill()
        run2.wait()
        second = run2.entries()
        assert [p[1] for p in second[:2]] == held, (second[:3], held)
        # What the kill left: entries given to it and not acknowledged.
        left = {e[0].decode() for e in redis.cmd("XPENDING", stream, group, "-", "+", "1000", me)}
        assert left and not left - set(ids), left

        # More deliveries while it is down, then 3 reads until idle.
        more = post_pushes(bs, cloud=8, dc=4, tag="b", base=1000)
        accepted.update(more)
        wait_events(redis, [stream], len(accepted))
        all_ids = [e[0].decode() for e in redis.cmd("XRANGE", stream, "-", "+")]
        third = finished(Run(kind, redis, [stream], "--idle-exit", "3", *args), "run 3")

        p1, p2, p3 = ([p[1] for p in r] for r in (first, second, third))
        acked = set(p1) | (set(p2) - left)
        assert sorted(p3) == sorted(set(all_ids) - acked), (p3, all_ids, acked)
        assert len(set(p3)) == len(p3) and len(set(p2)) == len(p2), (p2, p3)
        assert not set(p1) & (set(p2) | set(p3)), "an acknowledged entry again"
        # At least once: seen twice only if printed and not acknowledged at the kill.
        assert set(p2) & set(p3) <= left, (p2, p3, left)
        assert set(p1) | set(p2) | set(p3) == set(all_ids)
        check_against(redis, first + second + third, accepted)
        assert sorted({p[2] for p in first + second + third}) == sorted(accepted)
        assert pending(redis, stream, group) == 0

        # SIGTERM while it waits for entries: exit 0.
        run4 = Run(kind, redis, [stream], *args)
        time.sleep(1.5)
        run4.proc.send_signal(signal.SIGTERM)
        assert finished(run4, "run 4 (SIGTERM)") == []
    finally:
        H.shutdown(redis, sleuth, bs)


def test_python_consumer_resumes():
    resume("py", "msgpack")


def test_c_consumer_resumes():
    resume("c", "json")


def test_python_consumer_resumes_json():
    resume("py", "json")


def test_c_consumer_resumes_msgpack():
    resume("c", "msgpack")


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
