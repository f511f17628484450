"""The logs, read as an operator's log shipper would (issue 14): with
log_format: json every line of stderr is one JSON object with time, level
and msg, and the lines about a delivery, a job or a Sleuth target carry
those as fields; SIGHUP re-applies log_level and log_format; a Redis that
is down gives a connect-failure line that names the address and is not
repeated more than about once per 10 s window; no secret (webhook secret,
Sleuth token, Redis password, Bitbucket API token) is in any log line, text
or JSON, nor in /metrics; the CLI tools print no info chatter."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
from test_pipeline import DEPLOYMENTS, dc_headers  # noqa: E402

REDIS_PW = "redis-pw-Qz81xTmv"
BB_TOKEN = "bb-api-token-Wy5pQe"
SECRETS = [H.SECRET, H.TOKEN, REDIS_PW, BB_TOKEN]
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"debug", "info", "warn", "error"}
WINDOW_S = 10           # common/log.c's repeat window


class PasswordRedis(H.RedisServer):
    """A redis-server with requirepass REDIS_PW (the harness' starts
    without one); restartable on the same port like the harness'."""

    def start(self, may_fail=False):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--daemonize", "no", "--appendonly", "no",
                "--requirepass", REDIS_PW, "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        H._procs.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                return "exited"
            try:
                return "up" if self.cmd("CONFIG", "GET", "dir") == [
                    b"dir", os.path.realpath(self.dir).encode()] else None
            except Exception:
                return None
        got = H.wait_for(up, 10, what="redis-server on port %d" % self.port)
        if got == "exited":
            self.proc.wait()
            if may_fail:
                return False
            H.fail("redis-server on port %d exited with %s" % (self.port, self.proc.returncode))
        return True

    def client(self):
        c = H.Resp(self.port, timeout=1)
        if c.cmd("AUTH", REDIS_PW) != "OK":
            c.close()
            raise RuntimeError("AUTH refused")
        return c


def config(redis, sleuth, level="debug", fmt="json"):
    cfg = H.make_config(redis.port, sleuth.url, DEPLOYMENTS,
                        extra="log_format: %s\nbackfill:\n  max_wait: 1s\n" % fmt)
    cfg = cfg.replace("log_level: debug\n", "log_level: %s\n" % level, 1)
    cfg = cfg.replace("  prefix: bstest\n", "  prefix: bstest\n  password_env: BS_IT_REDIS_PW\n", 1)
    # The API on a port nobody listens on: its connection errors are
    # logged too (and must not show the token).
    api = ("  api:\n    cloud_url: http://127.0.0.1:%d\n    server_url: http://127.0.0.1:%d\n"
           "    token_env: BS_IT_BB_TOKEN\n    connect_timeout_ms: 500\n" % (H.free_port(), H.free_port()))
    return cfg.replace("  secret_env: BS_IT_SECRET\n", "  secret_env: BS_IT_SECRET\n" + api, 1)


def start(level="debug", fmt="json"):
    redis = PasswordRedis()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(config(redis, sleuth, level, fmt),
                     env_extra={"BS_IT_REDIS_PW": REDIS_PW, "BS_IT_BB_TOKEN": BB_TOKEN})
    return redis, sleuth, bs


def post_fixture(bs, path, ev, product):
    body = H.read_fixture(path)
    if product == "dc":
        return bs.post(ev, body, headers=dc_headers(), delivery=False)
    return bs.post(ev, body)


def json_lines(text):
    """Every line parsed; fails on the first that is not a JSON object with
    time, level and msg."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            H.fail("log line %d is not JSON (%s): %r" % (n, e, line[:300]))
        if not isinstance(o, dict) or not TIME_RE.match(o.get("time", "")) or \
                o.get("level") not in LEVELS or not isinstance(o.get("msg"), str):
            H.fail("log line %d lacks time/level/msg: %r" % (n, line[:300]))
        out.append(o)
    return out


def assert_no_secret(where, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    for s in SECRETS:
        assert s.encode() not in data, "secret %r in %s" % (s[:6] + "...", where)


def test_json_lines_parse_and_carry_the_context():
    redis, sleuth, bs = start()
    try:
        n = 0
        for path, ev, product in H.fixtures():
            st, js, raw, _ = post_fixture(bs, path, ev, product)
            assert st in (200, 202), (path, st, raw)
            n += 1
        assert n >= 80, n
        # Hostile bytes in the headers that become context fields.
        body = H.read_fixture(H.fixtures("repo:push", "cloud")[1][0])
        st, _, raw, _ = bs.post('repo:push"\\\xff', body, sign=False)
        assert st == 401, (st, raw)      # refused, and logged with its headers
        st, _, raw, _ = bs.post("repo:push", body + b" ", delivery='{q"\\\xe9\xff}')
        assert st < 500, (st, raw)
        H.wait_for(lambda: H.settled(redis), 60, what="every job finished")

        # Redis away for a few seconds, then back.
        redis.kill()
        t_down = time.time()
        H.wait_for(lambda: "redis is down" in bs.log(), 10, what="redis down noticed")
        path, ev, product = H.fixtures("repo:push", "cloud")[0]
        st, _, _, _ = post_fixture(bs, path, ev, product)
        assert st == 503, st
        time.sleep(4)
        redis.start()
        H.wait_for(lambda: bs.log().count("redis is up") >= 2, 20, what="redis up again")
        down_s = time.time() - t_down
        st, _, raw, _ = post_fixture(bs, path, ev, product)
        assert st in (200, 202), raw
        H.wait_for(lambda: H.settled(redis), 30, what="the job after the restart")
        st, _, metrics, _ = bs.get("/metrics")
        assert st == 200
        assert_no_secret("/metrics", metrics)
    finally:
        H.shutdown(redis, sleuth, bs)

    text = bs.log()
    assert_no_secret("the JSON log", text)
    lines = json_lines(text)
    assert any(o["level"] == "debug" for o in lines)

    # A queued delivery: delivery, event, repository and its job.
    queued = [o for o in lines if o["msg"].startswith("delivery ") and " queued as " in o["msg"]]
    assert queued, "no 'queued as' line"
    for o in queued:
        assert o.get("delivery") and o.get("event") and o.get("job"), o
        assert o["delivery"] in o["msg"] and o["job"] in o["msg"], o
    assert any(o.get("repository") for o in queued), queued[:3]
    assert {o["event"] for o in queued} >= {"repo:push", "pullrequest:created"}, \
        {o["event"] for o in queued}
    # A registration: the job, its delivery and the target.
    reg = [o for o in lines if "registered sha" in o["msg"]]
    assert reg, "no registration line"
    for o in reg:
        assert o.get("job") and o.get("target") and o.get("delivery") and o.get("event"), o
        assert o["target"] in o["msg"] and o["job"] in o["msg"], o
        assert o.get("repository"), o
    # A refusal carries the delivery's own headers.
    refused = [o for o in lines if o["msg"].startswith("delivery refused")]
    for o in refused:
        assert o.get("event"), o
    assert any(o.get("event") == 'repo:push"\\\ufffd' for o in lines), \
        sorted({o["event"] for o in lines if "event" in o})
    # Components are split off.
    redis_lines = [o for o in lines if o.get("component") == "redis"]
    assert redis_lines and not any(o["msg"].startswith("redis: ") for o in redis_lines)
    # The connect failures: the address and the cause, about once a window.
    addr = "127.0.0.1:%d" % redis.port
    fails = [o for o in redis_lines if o["msg"].startswith("connect to %s failed" % addr)]
    assert fails, [o["msg"] for o in redis_lines]
    assert all("Connection refused" in o["msg"] for o in fails), fails
    bound = down_s / WINDOW_S + 3
    assert len(fails) <= bound, (len(fails), down_s, [o["msg"] for o in fails])
    counted = [o for o in fails if o.get("suppressed")]
    assert counted and "more like this suppressed" in counted[0]["msg"], fails
    # The API's refused connections name the host, once each window too.
    http = [o for o in lines if o.get("component") == "http"]
    assert http and any("(Connection refused)" in o["msg"] for o in http), http
    for o in http:
        assert re.match(r"(GET|POST) 127\.0\.0\.1:\d+ failed: ", o["msg"]), o


def test_sighup_reapplies_level_and_format():
    redis, sleuth, bs = start(level="info", fmt="text")
    try:
        def burst():
            """Redis drops every connection of bitsleuth: the pools log
            the loss (warn), the reconnect (info) and each further
            connection up (debug)."""
            mark = len(bs.log())
            before = bs.log().count("connected to 127.0.0.1:%d" % redis.port)
            redis.cmd("CLIENT", "KILL", "TYPE", "normal")
            H.wait_for(lambda: bs.log().count("connected to 127.0.0.1:%d" % redis.port) >= before + 2,
                       20, what="the pools reconnected")
            time.sleep(1)              # the other connections, buffered lines
            return bs.log()[mark:]

        part = burst()
        assert " info  " in part and " debug " not in part, part[-2000:]
        assert " warn  redis: connection to 127.0.0.1:%d lost" % redis.port in part, part[-2000:]

        def reload(level, fmt, want):
            with open(bs.config, "w") as f:
                f.write(config(redis, sleuth, level, fmt))
            bs.signal(signal.SIGHUP)
            H.wait_for(lambda: want in bs.log(), 10, what=want)

        reload("debug", "text", "log: level info -> debug")
        part = burst()
        assert " debug " in part, part[-3000:]

        reload("info", "json", "\"msg\":\"format text -> json\"")
        assert "\"component\":\"log\",\"msg\":\"level debug -> info\"" in bs.log()
        part = burst()
        lines = json_lines(part)
        assert lines and not any(o["level"] == "debug" for o in lines)
        assert any(o["level"] == "info" for o in lines)
    finally:
        H.shutdown(redis, sleuth, bs)
    assert_no_secret("the text and JSON log", bs.log())


def test_cli_tools_print_no_info_lines():
    redis, sleuth, bs = start(level="info", fmt="text")
    try:
        env = dict(os.environ, BS_IT_SECRET=H.SECRET, BS_IT_TOKEN=H.TOKEN,
                   BS_IT_REDIS_PW=REDIS_PW, BS_IT_BB_TOKEN=BB_TOKEN)
        path = os.path.join(H.FIXTURES, H.fixtures("repo:push", "cloud")[0][0])
        c = bs.config
        for args in (["stats", "-c", c], ["dlq", "list", "-c", c],
                     ["replay", "-c", c, "--event", "repo:push", path]):
            p = subprocess.run([H.BIN] + args, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            err = p.stderr.decode("utf-8", "replace")
            assert p.returncode == 0, (args, p.stdout, err)
            assert " info  " not in err and "redis: connected" not in err, (args, err)
            assert_no_secret("bitsleuth %s" % args[0], p.stdout + p.stderr)
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
