"""TLS to Redis through the stunnel sidecar (README "TLS to Redis").

hiredis 0.14 has no TLS, so bitsleuth refuses rediss:// and the README
tells to run examples/stunnel-redis.conf next to it. This test runs that
very file: a throw-away CA and server certificate (openssl), a plain
redis-server, one stunnel *server* that plays the managed Redis's TLS
endpoint (TLS on a free port, plain to redis-server), and one stunnel
*client* rendered from examples/stunnel-redis.conf with only its ports,
certificate and pid paths replaced. bitsleuth `run` talks to the client's
loopback port; a signed push must come out at the Sleuth stand-in, while
the server's port speaks only TLS (a plain PING there gets no +PONG).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

EXAMPLE = os.path.join(H.SOURCE_DIR, "examples", "stunnel-redis.conf")
STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")
DEPLOYMENTS = [{"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo",
                "branch": "master"}]


def make_certs(d):
    """A CA and a server certificate for localhost / 127.0.0.1 signed by it."""
    def run(*args):
        subprocess.run(args, cwd=d, check=True, capture_output=True, timeout=60)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=bitsleuth test CA", "-keyout", "ca.key", "-out", "ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName = DNS:localhost, IP:127.0.0.1\n"
                "basicConstraints = CA:FALSE\n"
                "extendedKeyUsage = serverAuth\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"), os.path.join(d, "server.key")


def render_client(d, accept_port, connect_port, cafile, check_host="localhost", name="client"):
    """examples/stunnel-redis.conf with this test's ports and paths: every
    other line as documented."""
    text = open(EXAMPLE).read()
    subs = {
        "pid": os.path.join(d, "stunnel-%s.pid" % name),
        "accept": "127.0.0.1:%d" % accept_port,
        "connect": "127.0.0.1:%d" % connect_port,
        "CAfile": cafile,
        "checkHost": check_host,
        "sni": check_host,
    }
    for key, value in subs.items():
        text, n = re.subn(r"(?m)^%s = .*$" % re.escape(key), "%s = %s" % (key, value), text)
        assert n == 1, "examples/stunnel-redis.conf has no single '%s = ' line" % key
    for must in ("client = yes", "verifyChain = yes", "foreground = yes"):
        assert re.search(r"(?m)^%s$" % re.escape(must), text), must
    path = os.path.join(d, "stunnel-%s.conf" % name)
    with open(path, "w") as f:
        f.write(text)
    return path


def render_server(d, accept_port, redis_port, cert, key):
    path = os.path.join(d, "stunnel-server.conf")
    with open(path, "w") as f:
        f.write("foreground = yes\npid = %s\ndebug = 5\n\n[redis-tls]\naccept = 127.0.0.1:%d\n"
                "connect = 127.0.0.1:%d\ncert = %s\nkey = %s\n"
                % (os.path.join(d, "stunnel-server.pid"), accept_port, redis_port, cert, key))
    return path


class Stunnel:
    """One stunnel process in the foreground, its output in a log file."""

    def __init__(self, conf, port, d, name):
        self.log_path = os.path.join(d, "stunnel-%s.log" % name)
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([STUNNEL, conf], stdout=self.logf, stderr=subprocess.STDOUT)
        H._procs.append(self.proc)
        self.port = port

        def up():
            if self.proc.poll() is not None:
                H.fail("stunnel %s exited with %s:\n%s" % (name, self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        H.wait_for(up, 20, what=lambda: "stunnel %s on port %d: %s" % (name, port, self.log()))

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        H.stop_process(self.proc)
        self.logf.close()


def plain_exchange(port, data, timeout=3.0):
    """Sends data in clear, returns what came back before close or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    try:
        s.sendall(data)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            got += chunk
            if b"\r\n" in got:
                break
    finally:
        s.close()
    return got


def test_push_reaches_sleuth_through_the_stunnel_sidecar():
    H.need("stunnel4", "stunnel4")
    d = tempfile.mkdtemp(prefix="bs-stunnel-")
    H._dirs.append(d)
    ca, cert, key = make_certs(d)
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    tunnels = []
    bs = None
    try:
        tls_port, client_port, bad_port = H.free_port(), H.free_port(), H.free_port()
        tunnels.append(Stunnel(render_server(d, tls_port, redis.port, cert, key), tls_port, d, "server"))
        tunnels.append(Stunnel(render_client(d, client_port, tls_port, ca), client_port, d, "client"))

        # The tunnel carries RESP: PING through the client's loopback port.
        c = H.Resp(client_port)
        try:
            assert c.cmd("PING") in ("PONG", b"PONG"), "no PONG through the tunnel"
        finally:
            c.close()
        # TLS is really on the wire: the server's port answers no plain PING.
        got = plain_exchange(tls_port, b"PING\r\n")
        assert b"+PONG" not in got, got
        # And the client verifies the server: a name the certificate does
        # not carry gets no answer.
        tunnels.append(Stunnel(render_client(d, bad_port, tls_port, ca, check_host="redis.example.com",
                                             name="badname"), bad_port, d, "badname"))
        got = plain_exchange(bad_port, b"PING\r\n")
        assert b"+PONG" not in got, got
        H.wait_for(lambda: "Rejected by CERT" in tunnels[-1].log()
                   or "certificate verify failed" in tunnels[-1].log(), 10,
                   what=lambda: "the certificate refusal in %s" % tunnels[-1].log())
        tunnels[-1].stop()

        cfg = H.make_config(client_port, sleuth.url, DEPLOYMENTS)
        assert "url: redis://127.0.0.1:%d/0" % client_port in cfg
        bs = H.Bitsleuth(cfg, mode="run")
        H.wait_for(lambda: bs.get("/readyz")[0] == 200, 20, what="readyz through the tunnel")
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        st, js, raw, _ = bs.post("repo:push", body, delivery="{stunnel-1}")
        assert st == 202 and js["status"] == "queued", raw
        H.wait_for(lambda: sleuth.answered(200), 30, what="the registration at the Sleuth stand-in")
        req = sleuth.answered(200)[0]
        assert req["path"] == "/api/1/deployments/acme/foo-web/register_deploy", req["path"]
        assert req["json"]["sha"] == "141977fedf5cf35aa290ac87d4b5177ac4cd9de1", req["json"]
        # The job went through the tunnel into the plain redis-server.
        H.wait_for(lambda: H.settled(redis), 20, what="the queue to settle")
        assert redis.cmd("EXISTS", "{bstest}:raw:{stunnel-1}") == 1
    finally:
        try:
            if bs is not None:
                rc = bs.stop()
                bs.assert_clean_log()
                assert rc == 0, "bitsleuth run exited %s" % rc
        finally:
            for t in tunnels:
                t.stop()
            sleuth.close()
            redis.close()


def test_rediss_url_is_refused_with_the_stunnel_hint():
    d = tempfile.mkdtemp(prefix="bs-stunnel-")
    H._dirs.append(d)
    cfg = H.make_config(6380, "http://127.0.0.1:9", DEPLOYMENTS).replace(
        "url: redis://127.0.0.1:6380/0", "url: rediss://redis.example.com:6380/0")
    assert "rediss://" in cfg
    path = os.path.join(d, "bitsleuth.yaml")
    with open(path, "w") as f:
        f.write(cfg)
    env = dict(os.environ, BS_IT_SECRET=H.SECRET, BS_IT_TOKEN=H.TOKEN)
    p = subprocess.run([H.BIN, "check", "-c", path], capture_output=True, text=True, env=env,
                       timeout=30)
    assert p.returncode != 0, (p.stdout, p.stderr)
    out = p.stdout + p.stderr
    assert ('redis.url: rediss:// (TLS) is not supported by hiredis 0.14; run the stunnel '
            'sidecar and point redis.url at it (README "TLS to Redis")') in out, out
    assert re.search(r"bitsleuth\.yaml:\d+:\d+: error: redis\.url: rediss://", out), out
    # The README section the message names exists.
    readme = open(os.path.join(H.SOURCE_DIR, "README.md")).read()
    assert "### TLS to Redis" in readme


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
