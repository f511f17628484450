"""Integration test harness: real redis-server, real bitsleuth binary, and a
real HTTP server on loopback that plays Sleuth.

Everything runs on 127.0.0.1 with ports chosen by the kernel, in a temp
directory of its own that is removed afterwards, so that several test files
can run at once (ctest -j). Every wait is bounded; when a wait or a check of
the harness fails, the tail of each bitsleuth log of the running test is
printed to stderr first (dump_logs), so that a CI failure can be read from
ctest --output-on-failure. Only the Python standard library is used.
"""
import atexit
import hashlib
import hmac
import itertools
import http.client
import http.server
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SOURCE_DIR = os.environ.get("BS_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
FIXTURES = os.environ.get("BS_FIXTURES", os.path.join(SOURCE_DIR, "tests", "fixtures", "bitbucket"))
BIN = os.environ.get("BS_BIN", os.path.join(SOURCE_DIR, "build", "bitsleuth"))
SECRET = "it-secret-Gkvl$k"
TOKEN = "sleuth-test-token"

_procs = []
_dirs = []   # temp dirs of bitsleuth processes, removed at exit (BS_IT_KEEP=1 keeps them)
# What the running test started, for dump_logs (run_tests empties them
# before each test).
_live_bitsleuth = []
_live_redis = []
_live_sleuth = []
_log_seq = itertools.count(1)
LOG_TAIL_LINES = 60


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass
    if not os.environ.get("BS_IT_KEEP"):
        while _dirs:
            shutil.rmtree(_dirs.pop(), ignore_errors=True)


atexit.register(_cleanup)


def stop_process(proc, timeout=10):
    """SIGTERM a process this test started (by its Popen), SIGKILL it after
    timeout seconds; nothing when it has already left."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _tail(path, n):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return ["(cannot read %s: %s)" % (path, e)]
    return lines[-n:]


def dump_logs():
    """Prints to stderr, for every bitsleuth process the running test
    started, the last LOG_TAIL_LINES lines of its log (its stdout and
    stderr), and a short account of Redis and the Sleuth stand-in. Called
    by fail() and by run_tests for any other failure: the one place that
    makes a failed test diagnosable from ctest --output-on-failure."""
    out = []
    for b in list(_live_bitsleuth):
        if b.proc is None:
            state = "not started"
        elif b.proc.poll() is None:
            state = "pid %d, running" % b.proc.pid
        else:
            state = "pid %d, exited %s" % (b.proc.pid, b.proc.returncode)
        out.append("---- bitsleuth %s (%s): last %d lines of %s ----"
                   % (b.mode, state, LOG_TAIL_LINES, b.log_path))
        out.extend(_tail(b.log_path, LOG_TAIL_LINES))
    for r in list(_live_redis):
        out.append("---- redis-server on port %d: last 15 lines of its log ----" % r.port)
        out.extend(_tail(os.path.join(r.dir, "redis.log"), 15))
    for sl in list(_live_sleuth):
        with sl.lock:
            reqs = list(sl.requests)
        out.append("---- Sleuth stand-in on port %d: %d requests ----" % (sl.port, len(reqs)))
        for r in reqs[-20:]:
            js = r["json"] if isinstance(r["json"], dict) else {}
            out.append("  %.3f %s sha=%s environment=%s answered=%s"
                       % (r["at"], r["path"], js.get("sha"), js.get("environment"), r.get("answered")))
    if out:
        out.append("---- end of logs ----")
        sys.stderr.write("\n".join(out) + "\n")
        sys.stderr.flush()


def fail(msg):
    """Raises AssertionError(msg) after dump_logs(): what every failing
    wait and check of the harness calls."""
    dump_logs()
    e = AssertionError(msg)
    e.bs_logs_shown = True
    raise e


def wait_for(cond, timeout=10.0, interval=0.05, what="condition"):
    """Polls cond() until it returns something true, which is returned.
    `what` names what is awaited; it may be a function, called once the
    wait failed, so that the message can say what was there instead."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    fail("timed out after %.1fs waiting for %s" % (timeout, what() if callable(what) else what))


# ---------------------------------------------------------------- redis

class Resp:
    """A minimal RESP2 client, enough to inspect what bitsleuth wrote."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()


class RedisServer:
    def __init__(self, appendonly=False):
        self.dir = tempfile.mkdtemp(prefix="bs-redis-")
        _dirs.append(self.dir)     # removed at exit: dump_logs may still read its log
        self.appendonly = appendonly
        self.proc = None
        _live_redis.append(self)
        # free_port() only says the port was free a moment ago: another test
        # running at once may take it first. Then this redis-server cannot
        # bind and exits, and another port is tried.
        for attempt in range(5):
            self.port = free_port()
            if self.start(may_fail=attempt < 4):
                break

    def start(self, may_fail=False):
        """Starts redis-server on self.port and waits until it answers.
        Returns False if it exited at once (may_fail: the port was taken),
        else True."""
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--daemonize", "no",
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "always", "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _procs.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                return "exited"
            try:
                c = Resp(self.port, timeout=1)
                try:
                    # Ours, not another test's redis-server on the same port.
                    ok = c.cmd("CONFIG", "GET", "dir") == [b"dir", os.path.realpath(self.dir).encode()]
                finally:
                    c.close()
                return "up" if ok else None
            except Exception:
                return None
        got = wait_for(up, 10, what="redis-server on port %d" % self.port)
        if got == "exited":
            self.proc.wait()
            if may_fail:
                return False
            fail("redis-server on port %d exited with %s" % (self.port, self.proc.returncode))
        return True

    def client(self):
        return Resp(self.port)

    def cmd(self, *args):
        c = self.client()
        try:
            return c.cmd(*args)
        finally:
            c.close()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        stop_process(self.proc)

    def close(self):
        self.stop()


# ---------------------------------------------------------------- sleuth

class _SleuthServer(http.server.ThreadingHTTPServer):
    # The stand-in must never be the slow part: with socketserver's default
    # backlog of 5, a burst of parallel registrations overflows the accept
    # queue, the kernel drops the SYNs, and bitsleuth's connects wait for a
    # retransmission (1 s, then 3 s) and may time out into retries. Set
    # before the listen() in the constructor.
    request_queue_size = 128
    daemon_threads = True


class SleuthStandIn:
    """A real HTTP server on loopback recording register_deploy requests.

    `responder(req)` decides each answer: return (status, body, headers),
    the string "hang" to never answer (until the server closes), "hangup"
    to close the connection without an answer, or ("slow", seconds, status)
    to answer status after sleeping (past the client's timeout: the request
    is recorded with answered=status, as Sleuth would have taken it).
    Default 200 "Success", as Sleuth answers.
    """

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        _live_sleuth.append(self)
        self.responder = None
        self.hang_event = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except Exception:
                    body = None
                req = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                       "raw": raw, "json": body, "at": time.time()}
                ans = (200, "Success", {})
                if outer.responder:
                    ans = outer.responder(req)
                if ans == "hang":
                    with outer.lock:
                        req["answered"] = None
                        outer.requests.append(req)
                    outer.hang_event.wait(60)
                    return
                if ans == "hangup":
                    with outer.lock:
                        req["answered"] = None
                        outer.requests.append(req)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                if isinstance(ans, tuple) and ans[0] == "slow":
                    outer.hang_event.wait(ans[1])
                    ans = (ans[2], "Success", {})
                status, text, headers = ans
                req["answered"] = status
                with outer.lock:
                    outer.requests.append(req)
                data = text.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass          # the client gave up first (a "slow" answer)

        self.server = _SleuthServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold(self):
        """Holds every call until released: returns (arrived, answer),
        two threading.Events; a call sets arrived and waits for answer
        (at most 20 s), then gets 200."""
        arrived, answer = threading.Event(), threading.Event()

        def responder(req):
            arrived.set()
            answer.wait(20)
            return (200, "Success", {})
        self.responder = responder
        return arrived, answer

    def answered(self, status=200):
        with self.lock:
            return [r for r in self.requests if r.get("answered") == status]

    def close(self):
        self.hang_event.set()
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- bitsleuth

def yaml_str(s):
    return json.dumps(s)


def make_config(redis_port, sleuth_url, deployments, prefix="bstest", extra="", sleuth_timeout_ms=3000):
    """A config for the test's Redis and Sleuth stand-in. The connect
    timeouts are 3 s: on a loaded machine a loopback connect can wait for a
    SYN retransmission (1 s), which must not turn into a retry."""
    lines = [
        "listen: 127.0.0.1:0",
        "log_level: debug",
        "redis:",
        "  url: redis://127.0.0.1:%d/0" % redis_port,
        "  prefix: %s" % prefix,
        "  connect_timeout_ms: 3000",
        "  command_timeout_ms: 2000",
        "bitbucket:",
        "  secret_env: BS_IT_SECRET",
        "sleuth:",
        "  base_url: %s" % sleuth_url,
        "  token_env: BS_IT_TOKEN",
        "  dry_run: false",
        "  connect_timeout_ms: 3000",
        "  timeout_ms: %d" % sleuth_timeout_ms,
        "issues:",
        "  patterns: [jira]",
    ]
    lines.append(extra.rstrip("\n")) if extra else None
    lines.append("deployments:")
    for d in deployments:
        lines.append("  - org: %s" % d["org"])
        lines.append("    deployment: %s" % d["deployment"])
        lines.append("    repository: %s" % yaml_str(d["repository"]))
        b = d.get("branch", "main")
        if isinstance(b, list):
            lines.append("    branch: [%s]" % ", ".join(yaml_str(x) for x in b))
        else:
            lines.append("    branch: %s" % yaml_str(b))
        lines.append("    environment: %s" % d.get("environment", "production"))
        for k in ("track", "tag_pattern", "dry_run", "token_env"):
            if k in d:
                v = d[k]
                lines.append("    %s: %s" % (k, json.dumps(v) if not isinstance(v, bool) else str(v).lower()))
    return "\n".join(line for line in lines if line is not None) + "\n"


class Bitsleuth:
    def __init__(self, config_text, mode="run", env_extra=None, workdir=None, consumer=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="bs-it-")
        if not workdir:
            _dirs.append(self.dir)
        self.config = os.path.join(self.dir, "bitsleuth.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.mode = mode
        self.env = dict(os.environ, BS_IT_SECRET=SECRET, BS_IT_TOKEN=TOKEN)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        if consumer:
            self.env["BITSLEUTH_CONSUMER"] = consumer
        if env_extra:
            self.env.update(env_extra)
        self.port = None
        # The port of "metrics on http://HOST:PORT (/metrics, /healthz,
        # /readyz)" when the config sets metrics_listen, else None.
        self.metrics_port = None
        # Unique within the directory, which several processes may share.
        self.log_path = os.path.join(self.dir, "bitsleuth-%s-%d-%d.log" % (mode, os.getpid(), next(_log_seq)))
        self.proc = None
        _live_bitsleuth.append(self)
        self.start()

    def start(self):
        self.killed = False   # set by kill9(): its exit status is the test's doing
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BIN, self.mode, "-c", self.config], stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=self.env)
        _procs.append(self.proc)
        if self.mode != "work":
            def listening():
                m = re.search(r"listening on http://[^:]+:(\d+)", self.log())
                if self.proc.poll() is not None:
                    fail("bitsleuth %s exited early with %s" % (self.mode, self.proc.returncode))
                return int(m.group(1)) if m else None
            self.port = wait_for(listening, 20, what="bitsleuth to listen")
        else:
            wait_for(lambda: "consuming" in self.log() or self._dead(), 20, what="worker start")
        if re.search(r"^metrics_listen:", config_text_of(self.config), re.M):
            def metrics_on():
                m = re.search(r"metrics on http://\S+:(\d+) \(/metrics", self.log())
                return int(m.group(1)) if m else self._dead()
            self.metrics_port = wait_for(metrics_on, 20, what="bitsleuth to serve metrics")

    def _dead(self):
        if self.proc.poll() is not None:
            fail("bitsleuth %s exited early with %s" % (self.mode, self.proc.returncode))
        return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def post(self, event_key, body, headers=None, sign=True, secret=SECRET, path="/hooks/bitbucket",
             content_type="application/json", delivery=None):
        if isinstance(body, str):
            body = body.encode()
        h = {"Content-Type": content_type, "X-Event-Key": event_key,
             "User-Agent": "Bitbucket-Webhooks/2.0"}
        if content_type is None:
            del h["Content-Type"]
        if event_key is None:
            del h["X-Event-Key"]
        if delivery is not False:
            h["X-Request-UUID"] = delivery or "{%s}" % hashlib.sha1(body + str(time.time()).encode()).hexdigest()[:32]
        if sign:
            h["X-Hub-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if headers:
            h.update(headers)
        return http_request(self.port, "POST", path, body, h)

    def get(self, path):
        return http_request(self.port, "GET", path, None, {})

    def ops_get(self, path, method="GET"):
        """A request to the metrics_listen port (status, json, body, headers)."""
        return http_request(self.metrics_port, method, path, None, {})

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("bitsleuth %s did not drain within %ds" % (self.mode, timeout))
        self.logf.close()
        return self.proc.returncode

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.logf.close()
        self.killed = True

    def assert_clean_log(self):
        log = self.log()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer"):
            if bad in log:
                fail("sanitizer report in the log of bitsleuth %s (%s):\n%s" % (self.mode, self.log_path, log[-6000:]))


def config_text_of(path):
    with open(path) as f:
        return f.read()


def actor(env=None):
    """Who bitsleuth records as having replayed something: $USER, else
    $LOGNAME, else the account name of the uid."""
    e = os.environ if env is None else env
    return e.get("USER") or e.get("LOGNAME") or pwd.getpwuid(os.getuid()).pw_name


def shutdown(redis, sleuth, *procs):
    """Stops each bitsleuth and checks that it drained cleanly (exit 0, no
    sanitizer report; one the test killed with kill9() only for sanitizer
    reports), then closes the Sleuth stand-in and Redis whatever happened."""
    try:
        for p in procs:
            rc = p.stop()
            p.assert_clean_log()
            if not p.killed and rc != 0:
                fail("bitsleuth %s exited %s" % (p.mode, rc))
    finally:
        sleuth.close()
        redis.close()


def http_request(port, method, path, body, headers, timeout=15):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = None
        return r.status, js, data, dict(r.getheaders())
    finally:
        c.close()


def fixtures(key=None, product=None):
    out = []
    with open(os.path.join(FIXTURES, "index.tsv")) as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            path, k, p = parts
            if key and k != key:
                continue
            if product and p != product:
                continue
            out.append((path, k, p))
    return out


def read_fixture(path):
    with open(os.path.join(FIXTURES, path), "rb") as f:
        return f.read()


def settled(redis, prefix="bstest"):
    """Every job finished: none in the stream (finished entries are
    deleted), none waiting in the retry set, none pending at a worker; only
    the dead letters may hold something. (The stream alone can be empty
    while a retry waits, and a later push would then overtake it.)"""
    jobs = "{%s}:jobs" % prefix
    return (redis.cmd("XLEN", jobs) == 0 and redis.cmd("ZCARD", "{%s}:retry" % prefix) == 0
            and redis.cmd("XPENDING", jobs, "workers")[0] == 0
            and redis.cmd("ZCARD", "{%s}:lanes" % prefix) == 0
            and not redis.cmd("KEYS", "{%s}:lanep:*" % prefix))


def stream_len(redis, key):
    return redis.cmd("XLEN", key)


# ---------------------------------------------------------------- metrics

# One sample line of the text format: name, optional {labels} (values
# quoted, with \\ \" \n escapes), value, optional timestamp.
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:\\.|[^"\\])*")*\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$')


def parse_metrics(text):
    """Prometheus text exposition -> {series: float}, keyed by the series
    exactly as rendered: 'bitsleuth_http_requests_total' or
    'bitsleuth_redis_redirects_total{kind="moved"}' (see series())."""
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample line: %r" % line)
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def _label_escape(v):
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series(name, **labels):
    """The key of one series in parse_metrics' dict; labels in the order
    bitsleuth renders them, e.g. series("bitsleuth_deliveries_total",
    product="cloud", event="repo:push", outcome="queued")."""
    if not labels:
        return name
    return name + "{" + ",".join('%s="%s"' % (k, _label_escape(v)) for k, v in labels.items()) + "}"


def scrape(bs, path="/metrics"):
    """GET /metrics of a running Bitsleuth: (raw text, {series: value})."""
    st, _, raw, hdrs = bs.get(path)
    if st != 200:
        fail("GET %s: %d %r" % (path, st, raw[:300]))
    return raw.decode(), parse_metrics(raw)


def metrics(bs):
    """GET /metrics as {series: value} (parse_metrics)."""
    return scrape(bs)[1]


def metric(bs, name, default=0.0, **labels):
    """One series' value (default when absent): metric(bs,
    "bitsleuth_http_closed_total", reason="shed")."""
    return metrics(bs).get(series(name, **labels), default)


_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"')


def labels_of(key):
    """A series key's (name, {label: value}), values unescaped."""
    name, _, rest = key.partition("{")
    un = lambda v: re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)
    return name, {k: un(v) for k, v in _LABEL.findall(rest)}


def total(m, name, **labels):
    """The sum of the series of family `name` in a parse_metrics dict whose
    labels include the given ones: total(m, "bitsleuth_deliveries_total",
    outcome="too_large") over every product and event."""
    out = 0.0
    for k, v in m.items():
        n, ls = labels_of(k)
        if n == name and all(ls.get(a) == str(b) for a, b in labels.items()):
            out += v
    return out


def need(tool, package):
    """The path of an outside tool the test uses; fails the test when it is
    missing (the test command installs it: scripts/deps.sh test)."""
    path = shutil.which(tool)
    if not path:
        fail("%s not found: Debian package %s (scripts/deps.sh test installs it)" % (tool, package))
    return path


def promtool_check(text, what="the scrape"):
    """Runs `promtool check metrics` on the exposition text (str or bytes);
    fails the test on a complaint."""
    tool = need("promtool", "prometheus")
    r = subprocess.run([tool, "check", "metrics"], input=text.encode() if isinstance(text, str) else text,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        fail("promtool check metrics on %s: exit %d\n%s%s" % (what, r.returncode,
             r.stdout.decode(), r.stderr.decode()))


# ---------------------------------------------------------------- runner

def run_tests(tests):
    """Runs each (name, fn) and prints the summary line CI reads."""
    passed = failed = 0
    only = os.environ.get("BS_IT_ONLY")
    for name, fn in tests:
        if only and only not in name:
            continue
        del _live_bitsleuth[:], _live_redis[:], _live_sleuth[:]
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("ok   %s (%.1fs)" % (name, time.time() - t0), flush=True)
        except Exception as e:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.time() - t0), flush=True)
            sys.stdout.flush()
            if not getattr(e, "bs_logs_shown", False):
                dump_logs()   # a failed assertion of the test itself
            traceback.print_exc()
            sys.stderr.flush()
    print("%d passed, %d failed" % (passed, failed))
    _cleanup()
    sys.exit(1 if failed else 0)
