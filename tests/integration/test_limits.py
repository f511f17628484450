"""http.max_connections and accept() running out of file descriptors,
through the real binary with a real redis-server.

The cap is a pause of the listener: connections beyond it are neither
refused nor served, they wait in the kernel's listen backlog until one of
the open ones closes. The waits below never assume a fast machine: "not
answered" is checked while the test itself holds the connections that fill
the cap, so nothing can be served however slow bitsleuth is, and "answered"
is given a generous deadline."""
import hashlib
import hmac
import json
import os
import re
import socket
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

DEPLOYMENTS = [{"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}]
FIXTURE = "drone-go-scm/cloud_repo-push_branch.json"
# Long enough that evhttp never times out the idle connections the tests
# hold open (which would free a slot behind the test's back).
LIMITS = "http:\n  max_connections: %d\n  timeout_ms: 120000\n"
ANSWER_S = 15.0     # generous: CI is a noisy 2-core machine


def setup(max_connections, bin_path=None):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    saved = H.BIN
    if bin_path:
        H.BIN = bin_path
    try:
        bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, DEPLOYMENTS,
                                       extra=LIMITS % max_connections))
    except Exception:
        sleuth.close()
        redis.close()
        raise
    finally:
        H.BIN = saved
    return redis, sleuth, bs


def idle(port, n):
    """n connected sockets that never send anything."""
    return [socket.create_connection(("127.0.0.1", port), timeout=ANSWER_S) for _ in range(n)]


def signed_post_bytes(body, delivery):
    sig = "sha256=" + hmac.new(H.SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = ("POST /hooks/bitbucket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nX-Event-Key: repo:push\r\n"
            "User-Agent: Bitbucket-Webhooks/2.0\r\nX-Request-UUID: %s\r\n"
            "X-Hub-Signature: %s\r\nContent-Length: %d\r\n\r\n" % (delivery, sig, len(body)))
    return head.encode() + body


def read_response(sock, timeout):
    """The whole response of a Connection: close request: (status, body)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        d = sock.recv(65536)
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


def metric(bs, name):
    st, _, raw, _ = bs.get("/metrics")
    assert st == 200, raw
    m = re.search(r"^%s (\d+)$" % re.escape(name), raw.decode(), re.M)
    assert m, "%s missing from /metrics:\n%s" % (name, raw.decode())
    return int(m.group(1))


def test_connection_over_the_cap_waits_until_one_closes():
    redis, sleuth, bs = setup(4)
    held = []
    try:
        held = idle(bs.port, 4)
        fifth = socket.create_connection(("127.0.0.1", bs.port), timeout=ANSWER_S)
        held.append(fifth)
        body = H.read_fixture(FIXTURE)
        fifth.sendall(signed_post_bytes(body, "{limits-fifth-connection}"))
        # Not refused (the connect worked, the send too) and not served:
        # the four connections above are ours and stay open, so the fifth
        # cannot be answered, however slow the machine.
        fifth.settimeout(1.0)
        try:
            d = fifth.recv(1)
            raise AssertionError("the connection over the cap was answered: %r" % d)
        except socket.timeout:
            pass
        assert bs.proc.poll() is None
        # One closes: the fifth gets its slot and its answer, body and all.
        held.pop(0).close()
        status, rbody = read_response(fifth, ANSWER_S)
        assert status == 202, (status, rbody)
        js = json.loads(rbody)
        assert js["status"] == "queued" and js["delivery"] == "{limits-fifth-connection}", js
        held.remove(fifth)
        fifth.close()
        H.wait_for(lambda: redis.cmd("XLEN", "{bstest}:jobs") + len(sleuth.requests) >= 1, 10,
                   what="the queued job")
        # The scrape needs a slot too: 3 idle connections are still held.
        assert metric(bs, "bitsleuth_http_accept_paused_total") >= 1
        open_now = metric(bs, "bitsleuth_http_connections_open")
        assert 1 <= open_now <= 4, open_now
        for s in held:
            s.close()
        held = []
        # Back to nothing but the scrape's own connection, which is open
        # while /metrics is rendered (so the gauge never reads 0 over HTTP).
        H.wait_for(lambda: metric(bs, "bitsleuth_http_connections_open") == 1, 10,
                   what="open connections back to the scrape's own")
        assert "ingest connections open (http.max_connections)" in bs.log()
    finally:
        for s in held:
            s.close()
        H.shutdown(redis, sleuth, bs)


def test_many_connections_in_turn_through_a_small_cap():
    """Connections that ended (answered, hung up early, sent half a
    request) give their slot back; without that the fourth would be the
    last one ever served."""
    redis, sleuth, bs = setup(2)
    try:
        for i in range(12):
            if i % 3 == 1:
                s = socket.create_connection(("127.0.0.1", bs.port), timeout=ANSWER_S)
                s.close()
            elif i % 3 == 2:
                s = socket.create_connection(("127.0.0.1", bs.port), timeout=ANSWER_S)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
                s.close()
            st, js, raw, _ = bs.get("/healthz")
            assert st == 200 and js["status"] == "ok", raw
        H.wait_for(lambda: metric(bs, "bitsleuth_http_connections_open") == 1, 10,
                   what="open connections back to the scrape's own")
    finally:
        H.shutdown(redis, sleuth, bs)


def test_listener_survives_running_out_of_file_descriptors():
    """accept() failing with EMFILE pauses accepting (libevent alone would
    spin on the readable socket, logging each time), warns once, and
    accepting resumes when descriptors are free again."""
    wrapdir = tempfile.mkdtemp(prefix="bs-limits-")
    wrapper = os.path.join(wrapdir, "bitsleuth-nofile")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nulimit -n 64 || exit 99\nexec "%s" "$@"\n' % H.BIN)
    os.chmod(wrapper, stat.S_IRWXU)
    redis, sleuth, bs = setup(1000, bin_path=wrapper)
    held = []
    try:
        # More than 64 descriptors' worth; those bitsleuth cannot accept
        # wait in the backlog (connect() succeeds without an accept).
        held = idle(bs.port, 80)
        H.wait_for(lambda: "cannot accept connections" in bs.log(), 20,
                   what="the fd-exhaustion warning")
        t0 = time.time()
        time.sleep(2.5)     # a window for retries (every 1 s) or a spin
        assert bs.proc.poll() is None, bs.log()[-3000:]
        for s in held:
            s.close()
        held = []

        def healthy():
            try:
                st, _, _, _ = H.http_request(bs.port, "GET", "/healthz", None, {}, timeout=5)
                return st == 200
            except OSError:
                return False
        H.wait_for(healthy, 30, what="a request served after the descriptors came back")
        elapsed = time.time() - t0
        paused = metric(bs, "bitsleuth_http_accept_paused_total")
        # One pause per failed retry: a slow machine makes fewer, a spin
        # would make thousands.
        assert 1 <= paused <= elapsed + 5, (paused, elapsed)
        log = bs.log()
        assert log.count("cannot accept connections") == 1, log[-3000:]
        assert "Error from accept() call" not in log, log[-3000:]
        assert "accepting connections again after running out" in log, log[-3000:]
    finally:
        for s in held:
            s.close()
        H.shutdown(redis, sleuth, bs)
        os.unlink(wrapper)
        os.rmdir(wrapdir)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
