"""/metrics, /healthz and /readyz on metrics_listen (issue 14), through the
real binary with a real redis-server: every mode serves them there (and the
ingest port answers 404 for them), the whole scrape passes `promtool check
metrics`, the queue-depth gauges follow a known queue, /readyz follows
Redis and the drain, a scrape storm costs at most about one Redis read per
second, systemd's NOTIFY_SOCKET gets READY=1 then STOPPING=1, and a port
in use is a clear error with exit status 1."""
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
import redis_topo as T  # noqa: E402

OPS_PATHS = ("/metrics", "/healthz", "/readyz")
FOO = "drone-go-scm/cloud_repo-push_branch.json"               # brydzewski/foo master
AROL1 = "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-12-134549.json"
AROL2 = "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-16-123735.json"
OTHER = "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_branch-created.json"  # no deployment
DEPLOYMENTS = [
    {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"},
    {"org": "arol", "deployment": "fw", "repository": "arolgroup/j0664-ns2-firmware", "branch": "main"},
]


def config(redis, sleuth, metrics=True, extra=""):
    text = H.make_config(redis.port, sleuth.url, DEPLOYMENTS, extra=extra, sleuth_timeout_ms=10000)
    if metrics:
        text = "metrics_listen: 127.0.0.1:0\n" + text
    return text


def series(raw, name):
    """{labels text: value} of one metric name in an exposition."""
    out = {}
    for line in raw.decode().splitlines():
        m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def gauge(raw, name, shard="0"):
    """The value of name{shard=...}, or None when absent."""
    return series(raw, name).get('{shard="%s"}' % shard)


def scrape(bs):
    st, _, raw, hdrs = bs.ops_get("/metrics")
    if st != 200:
        H.fail("GET /metrics on the metrics port: %d %r" % (st, raw[:300]))
    return raw


def post_fixture(bs, path):
    st, js, raw, _ = bs.post("repo:push", H.read_fixture(path))
    if st != 202 or not js or js.get("status") != "queued":
        H.fail("POST %s: %d %r" % (path, st, raw[:300]))
    return js["job"]


def check_ops_port(bs, mode):
    st, js, _, _ = bs.ops_get("/healthz")
    assert st == 200 and js == {"status": "ok"}, (mode, st, js)
    H.wait_for(lambda: bs.ops_get("/readyz")[0] == 200, 15, what="%s /readyz 200" % mode)
    assert bs.ops_get("/readyz")[1] == {"status": "ready"}
    raw = scrape(bs)
    _, _, _, hdrs = bs.ops_get("/metrics")
    assert hdrs.get("Content-Type", "").startswith("text/plain; version=0.0.4"), hdrs
    for name in ("bitsleuth_queue_length", "bitsleuth_queue_pending", "bitsleuth_queue_retries",
                 "bitsleuth_queue_dead_letters", "bitsleuth_queue_oldest_age_seconds",
                 "bitsleuth_queue_lanes_held", "bitsleuth_queue_events_length",
                 "bitsleuth_queue_deploys_length", "bitsleuth_queue_readers_lag"):
        if gauge(raw, name) is None:
            H.fail("%s: %s{shard=\"0\"} missing from /metrics:\n%s" % (mode, name, raw.decode()))
    if "bitsleuth_queue_scrape_errors_total" not in raw.decode():
        H.fail("%s: bitsleuth_queue_scrape_errors_total missing" % mode)
    if "bitsleuth_redis_up 1" not in raw.decode():
        H.fail("%s: bitsleuth_redis_up is not 1" % mode)
    H.promtool_check(raw, "the %s scrape" % mode)
    st, _, body, hdrs = bs.ops_get("/metrics", method="HEAD")
    assert st == 200 and body == b"" and int(hdrs["Content-Length"]) > 0, (mode, st, hdrs)
    st, js, _, hdrs = bs.ops_get("/metrics", method="POST")
    assert st == 405 and js["error"] == "method_not_allowed" and "GET" in hdrs.get("Allow", ""), (st, js)
    st, js, _, _ = bs.ops_get("/hooks/bitbucket", method="POST")
    assert st == 404 and js["error"] == "not_found", (mode, st, js)


def test_every_mode_serves_them_on_metrics_listen():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    procs = []
    try:
        for mode in ("run", "serve", "work"):
            bs = H.Bitsleuth(config(redis, sleuth), mode=mode)
            procs.append(bs)
            assert bs.metrics_port and bs.metrics_port != bs.port, (mode, bs.metrics_port, bs.port)
            line = re.search(r"metrics on http://\S+ \(/metrics, /healthz, /readyz\)", bs.log()).group(0)
            assert not re.search(r"listening on http://[^:]+:(\d+)", line), line
            check_ops_port(bs, mode)
            if mode == "work":
                assert "listening on" not in bs.log(), "work opened an ingest port"
                continue
            for path in OPS_PATHS:
                st, js, _, _ = bs.get(path)
                if st != 404 or js.get("error") != "not_found":
                    H.fail("%s: ingest port GET %s answered %d %r, want 404" % (mode, path, st, js))
            ping = H.read_fixture("jenkinsci-bitbucket-branch-source-plugin/dc_diagnostics-ping.json")
            st, js, _, _ = bs.post("diagnostics:ping", ping, headers={"X-Request-Id": "ping-%s" % mode},
                                   delivery=False)
            assert st == 200 and js["status"] == "ok", (mode, st, js)
    finally:
        H.shutdown(redis, sleuth, *procs)


def test_without_metrics_listen_they_stay_on_the_ingest_port():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    procs = []
    try:
        bs = H.Bitsleuth(config(redis, sleuth, metrics=False), mode="run")
        procs.append(bs)
        assert bs.metrics_port is None and "metrics on http" not in bs.log()
        assert bs.get("/healthz")[0] == 200
        H.wait_for(lambda: bs.get("/readyz")[0] == 200, 15, what="/readyz 200")
        st, _, raw, _ = bs.get("/metrics")
        assert st == 200 and gauge(raw, "bitsleuth_queue_length") == 0, raw.decode()[-2000:]
        H.promtool_check(raw, "the run scrape on the ingest port")
        work = H.Bitsleuth(config(redis, sleuth, metrics=False), mode="work")
        procs.append(work)
        assert work.port is None and work.metrics_port is None
        assert "listening on" not in work.log() and "metrics on" not in work.log()
    finally:
        H.shutdown(redis, sleuth, *procs)


def redis_figures(redis):
    jobs = "{bstest}:jobs"
    try:
        pending = redis.cmd("XPENDING", jobs, "workers")[0]
    except Exception:
        pending = 0
    return {"bitsleuth_queue_length": redis.cmd("XLEN", jobs),
            "bitsleuth_queue_pending": pending,
            "bitsleuth_queue_retries": redis.cmd("ZCARD", "{bstest}:retry"),
            "bitsleuth_queue_dead_letters": redis.cmd("XLEN", "{bstest}:dead")}


def test_queue_gauges_follow_a_known_queue():
    """No worker: four deliveries wait (length 4, pending 0, the oldest
    ageing); a consumer of the test's reads one (pending 1) and finishes
    it (length 3); then a worker runs them against a Sleuth that answers
    400 for one target (a dead letter) and 503 for the other, whose two
    pushes share a lane: a retry, and a lane held by its failing head."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()

    def responder(req):
        if "/acme/foo-web/" in req["path"]:
            return (400, "bad request", {})
        return (503, "unavailable", {})
    sleuth.responder = responder
    procs = []
    try:
        serve = H.Bitsleuth(config(redis, sleuth), mode="serve")
        procs.append(serve)
        first = post_fixture(serve, OTHER)
        for path in (FOO, AROL1, AROL2):
            post_fixture(serve, path)
        raw = H.wait_for(lambda: (lambda r: r if gauge(r, "bitsleuth_queue_length") == 4 else None)(scrape(serve)),
                         10, what="bitsleuth_queue_length 4")
        assert gauge(raw, "bitsleuth_queue_pending") == 0
        assert gauge(raw, "bitsleuth_queue_retries") == 0
        assert gauge(raw, "bitsleuth_queue_dead_letters") == 0
        assert gauge(raw, "bitsleuth_queue_lanes_held") == 0
        # The oldest job ages while nobody takes it (Redis' clock, the
        # stream id's): at least a second after a second has passed.
        t0 = time.time()
        H.wait_for(lambda: time.time() - t0 > 1.2, 5, what="a second")
        raw = H.wait_for(lambda: (lambda r: r if (gauge(r, "bitsleuth_queue_oldest_age_seconds") or 0) >= 1.0
                                  else None)(scrape(serve)), 10, what="oldest age >= 1 s")
        age = gauge(raw, "bitsleuth_queue_oldest_age_seconds")
        assert 1.0 <= age < 120, age

        # A consumer of our own in the workers group: one entry pending.
        try:
            redis.cmd("XGROUP", "CREATE", "{bstest}:jobs", "workers", "0", "MKSTREAM")
        except Exception:
            pass
        got = redis.cmd("XREADGROUP", "GROUP", "workers", "probe", "COUNT", "1", "STREAMS", "{bstest}:jobs", ">")
        assert got[0][1][0][0].decode() == first, got
        raw = H.wait_for(lambda: (lambda r: r if gauge(r, "bitsleuth_queue_pending") == 1 else None)(scrape(serve)),
                         10, what="bitsleuth_queue_pending 1")
        assert gauge(raw, "bitsleuth_queue_length") == 4
        redis.cmd("XACK", "{bstest}:jobs", "workers", first)
        redis.cmd("XDEL", "{bstest}:jobs", first)
        raw = H.wait_for(lambda: (lambda r: r if gauge(r, "bitsleuth_queue_length") == 3 else None)(scrape(serve)),
                         10, what="bitsleuth_queue_length 3")
        assert gauge(raw, "bitsleuth_queue_pending") == 0

        # A worker: one dead letter, one retry, one lane held.
        work = H.Bitsleuth(config(redis, sleuth), mode="work")
        procs.append(work)

        def settled_state():
            r = scrape(work)
            want = {"bitsleuth_queue_dead_letters": 1, "bitsleuth_queue_retries": 1,
                    "bitsleuth_queue_lanes_held": 1}
            return r if all(gauge(r, k) == v for k, v in want.items()) else None
        raw = H.wait_for(settled_state, 20, what=lambda: "dead 1, retries 1, held 1; got:\n%s"
                         % "\n".join(l for l in scrape(work).decode().splitlines() if "queue_" in l))
        # The gauges are Redis' own figures (stable now: the retry is due
        # in seconds, the held push waits behind it).
        direct = redis_figures(redis)
        for name, v in direct.items():
            if gauge(raw, name) != v:
                H.fail("%s is %r on /metrics but %r in Redis" % (name, gauge(raw, name), v))
        # serve reads the same queue.
        H.wait_for(lambda: gauge(scrape(serve), "bitsleuth_queue_dead_letters") == 1, 10,
                   what="serve sees the dead letter")
        H.promtool_check(raw, "the work scrape with a dead letter and a retry")
    finally:
        H.shutdown(redis, sleuth, *procs)


def test_readyz_follows_redis():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    procs = []
    try:
        serve = H.Bitsleuth(config(redis, sleuth), mode="serve")
        work = H.Bitsleuth(config(redis, sleuth), mode="work")
        procs += [serve, work]
        for bs in procs:
            H.wait_for(lambda: bs.ops_get("/readyz")[0] == 200, 15, what="%s /readyz 200" % bs.mode)
        pid = redis.proc.pid
        os.kill(pid, signal.SIGKILL)
        redis.proc.wait(timeout=10)
        for bs in procs:
            H.wait_for(lambda: bs.ops_get("/readyz")[0] == 503, 15, what="%s /readyz 503" % bs.mode)
            st, js, _, _ = bs.ops_get("/readyz")
            assert js == {"error": "not_ready", "reason": "redis is not reachable"}, js
            assert bs.ops_get("/healthz")[0] == 200
            # No stale figures while Redis cannot be read, and the failed
            # reads are counted.
            H.wait_for(lambda: gauge(scrape(bs), "bitsleuth_queue_length") is None, 10,
                       what="%s: queue gauges absent" % bs.mode)
            raw = scrape(bs)
            assert series(raw, "bitsleuth_queue_scrape_errors_total")[""] >= 1, raw.decode()[-1500:]
            assert "bitsleuth_redis_up 0" in raw.decode()
            H.promtool_check(raw, "the %s scrape with Redis down" % bs.mode)
        redis.start()
        for bs in procs:
            H.wait_for(lambda: bs.ops_get("/readyz")[0] == 200, 20, what="%s /readyz 200 again" % bs.mode)
            H.wait_for(lambda: gauge(scrape(bs), "bitsleuth_queue_length") == 0, 10,
                       what="%s: queue gauges back" % bs.mode)
    finally:
        H.shutdown(redis, sleuth, *procs)


def evals(redis):
    """EVALSHA + EVAL calls Redis counted (INFO commandstats)."""
    info = redis.cmd("INFO", "commandstats").decode()
    n = 0
    for cmd in ("evalsha", "eval"):
        m = re.search(r"^cmdstat_%s:calls=(\d+)" % cmd, info, re.M)
        n += int(m.group(1)) if m else 0
    return n


def test_a_scrape_storm_is_about_one_redis_read_a_second():
    """serve does no scripts of its own while idle, so every script Redis
    runs during the storm is a queue-depth refresh: with two shards, two
    per refresh, and at most one refresh per second of the storm."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    procs = []
    try:
        serve = H.Bitsleuth(config(redis, sleuth, extra="queue:\n  shards: 2"), mode="serve")
        procs.append(serve)
        H.wait_for(lambda: serve.ops_get("/readyz")[0] == 200, 15, what="/readyz 200")
        raw = scrape(serve)
        assert gauge(raw, "bitsleuth_queue_length", "0") == 0 and gauge(raw, "bitsleuth_queue_length", "1") == 0
        redis.cmd("CONFIG", "RESETSTAT")
        before = evals(redis)
        count = [0]
        errors = []
        lock = threading.Lock()
        t0 = time.monotonic()

        def storm():
            while time.monotonic() - t0 < 3.0:
                try:
                    r = scrape(serve)
                    if gauge(r, "bitsleuth_queue_length", "1") is None:
                        errors.append("a scrape without the gauges")
                except Exception as e:
                    errors.append(repr(e))
                with lock:
                    count[0] += 1
        threads = [threading.Thread(target=storm) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - t0
        n = evals(redis) - before
        print("storm: %d scrapes in %.1f s, %d scripts" % (count[0], elapsed, n), flush=True)
        assert not errors, errors[:3]
        bound = 2 * (math.ceil(elapsed) + 1)
        if not 2 <= n <= bound:
            H.fail("%d scripts for %d scrapes in %.1f s: want 2..%d (two shards, <= 1 refresh a second)"
                   % (n, count[0], elapsed, bound))
        assert count[0] > n, (count[0], n)
    finally:
        H.shutdown(redis, sleuth, *procs)


def test_gauges_per_shard_on_a_cluster():
    """queue.shards 3 on a Redis Cluster of three masters: each shard's
    script runs on the master of its hash tag (the lane keys it builds
    from their prefix live in the same slot), one series per shard."""
    c = T.Cluster(masters=3)
    sleuth = H.SleuthStandIn()
    procs = []
    try:
        cfg = "metrics_listen: 127.0.0.1:0\n" + T.topo_config(c.redis_yaml(), sleuth.url, DEPLOYMENTS, shards=3)
        serve = H.Bitsleuth(cfg, mode="serve")
        procs.append(serve)
        H.wait_for(lambda: serve.ops_get("/readyz")[0] == 200, 20, what="/readyz 200")
        for i, tag in enumerate(T.shard_tags("bstest", 3)):
            owner = c.owner_of_slot(T.keyslot(tag))
            for _ in range(i + 1):
                T.try_cmd(owner, "XADD", "{%s}:jobs" % tag, "*", "f", "x")
            if i == 2:
                T.try_cmd(owner, "ZADD", "{%s}:lanes" % tag, "1", "acme/t/production")
                T.try_cmd(owner, "RPUSH", "{%s}:lane:acme/t/production" % tag, "1-0", "2-0")
                T.try_cmd(owner, "HSET", "{%s}:lanex:acme/t/production" % tag, "failing", "1")

        def shown():
            r = scrape(serve)
            ok = all(gauge(r, "bitsleuth_queue_length", str(i)) == i + 1 for i in range(3))
            return r if ok and gauge(r, "bitsleuth_queue_lanes_held", "2") == 1 else None
        raw = H.wait_for(shown, 10, what=lambda: "lengths 1, 2, 3 and a lane held in shard 2; got:\n%s"
                         % "\n".join(l for l in scrape(serve).decode().splitlines() if "queue_" in l))
        assert gauge(raw, "bitsleuth_queue_lanes_held", "0") == 0
        assert series(raw, "bitsleuth_queue_scrape_errors_total")[""] == 0
        H.promtool_check(raw, "the cluster scrape")
    finally:
        H.shutdown(c, sleuth, *procs)


def test_readyz_says_shutting_down_while_draining():
    """A Sleuth call holds the drain; meanwhile the metrics port still
    answers, /readyz 503 "shutting down"; the process then exits 0."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    sleuth.responder = lambda req: ("slow", 4, 200)
    procs = []
    try:
        bs = H.Bitsleuth(config(redis, sleuth), mode="run")
        procs.append(bs)
        H.wait_for(lambda: bs.ops_get("/readyz")[0] == 200, 15, what="/readyz 200")
        post_fixture(bs, FOO)
        H.wait_for(lambda: series(scrape(bs), "bitsleuth_sleuth_in_flight").get("") == 1, 15,
                   what="the Sleuth call in flight")
        bs.signal(signal.SIGTERM)
        H.wait_for(lambda: "draining" in bs.log(), 10, what="the drain")
        st, js, _, _ = bs.ops_get("/readyz")
        assert st == 503 and js == {"error": "not_ready", "reason": "shutting down"}, (st, js)
        assert bs.ops_get("/healthz")[0] == 200
        assert bs.proc.poll() is None, "it left before the Sleuth call ended"
        assert bs.proc.wait(timeout=30) == 0, bs.proc.returncode
    finally:
        H.shutdown(redis, sleuth, *procs)


def recv_all(sock, until, timeout):
    """Datagrams until one contains `until` (bounded)."""
    got = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if until in got[-1]:
            return got
    H.fail("no %s datagram on NOTIFY_SOCKET; got %r" % (until, got))


def test_notify_socket_gets_ready_then_stopping():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    procs = []
    d = tempfile.mkdtemp(prefix="bs-notify-")
    try:
        for mode, name in (("run", os.path.join(d, "notify")), ("work", "@bs-it-notify-%d" % os.getpid())):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(name if name[0] != "@" else "\0" + name[1:])
            if mode == "run":
                redis.stop()          # not ready before Redis is up
            bs = H.Bitsleuth(config(redis, sleuth, metrics=(mode == "work")), mode=mode,
                             env_extra={"NOTIFY_SOCKET": name})
            procs.append(bs)
            if mode == "run":
                got = recv_all(sock, "STATUS=redis is not reachable", 20)
                assert not any("READY=1" in g for g in got), got
                redis.start()
            got = recv_all(sock, "READY=1", 20)
            assert any("STATUS=ready" in g for g in got), got
            # READY=1 means what /readyz says.
            if bs.metrics_port:
                assert bs.ops_get("/readyz")[0] == 200
                # A reload: RELOADING=1, then READY=1 again; the metrics
                # port goes on (its address is not reloaded).
                bs.signal(signal.SIGHUP)
                got = recv_all(sock, "READY=1", 20)
                assert "RELOADING=1" in got[0], got
                assert bs.ops_get("/readyz")[0] == 200 and scrape(bs)
            else:
                assert bs.get("/readyz")[0] == 200
            bs.signal(signal.SIGTERM)
            got = recv_all(sock, "STOPPING=1", 20)
            assert not any("READY=1" in g for g in got[:-1]), got
            # It leaves by itself (a second signal would cut the drain).
            assert bs.proc.wait(timeout=30) == 0, bs.proc.returncode
            sock.close()
    finally:
        H.shutdown(redis, sleuth, *procs)
        shutil.rmtree(d, ignore_errors=True)


def test_a_port_in_use_is_a_clear_error():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        d = tempfile.mkdtemp(prefix="bs-inuse-")
        H._dirs.append(d)
        cases = [
            ("listen", H.make_config(redis.port, sleuth.url, DEPLOYMENTS).replace(
                "listen: 127.0.0.1:0", "listen: 127.0.0.1:%d" % port),
             "pick another with --listen or listen:, or stop it)"),
            ("metrics_listen", "metrics_listen: 127.0.0.1:%d\n" % port +
             H.make_config(redis.port, sleuth.url, DEPLOYMENTS),
             "pick another with metrics_listen:, or stop it)"),
        ]
        for what, text, hint in cases:
            for mode in ("serve",) if what == "listen" else ("serve", "work"):
                path = os.path.join(d, "%s.yaml" % what)
                with open(path, "w") as f:
                    f.write(text)
                env = dict(os.environ, BS_IT_SECRET=H.SECRET, BS_IT_TOKEN=H.TOKEN)
                r = subprocess.run([H.BIN, mode, "-c", path], capture_output=True, env=env, timeout=30)
                out = (r.stdout + r.stderr).decode()
                want = "cannot listen on 127.0.0.1:%d: Address already in use (another process holds the port: %s" \
                    % (port, hint)
                if r.returncode != 1 or want not in out:
                    H.fail("%s %s on a port in use: exit %d, want 1 and %r in:\n%s"
                           % (mode, what, r.returncode, want, out))
    finally:
        holder.close()
        sleuth.close()
        redis.close()


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
