"""http.max_connections and accept() running out of file descriptors,
through the real binary with a real redis-server.

At the cap a new connection is still accepted and served: to make room the
server closes (sheds) first the oldest idle connection (fresh, or
keep-alive between requests), then the connection whose unfinished request
started longest ago. A connection whose request is complete and being
handled is never shed. bitsleuth_http_closed_total{reason="shed"} counts the sheds.

The waits below never assume a fast machine: the deadlines are generous
(ANSWER_S) and only tell "never" from "eventually"; which connection was
shed is read from the sockets the test holds, which nothing else touches."""
import hashlib
import hmac
import json
import os
import re
import select
import socket
import stat
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

DEPLOYMENTS = [{"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}]
FIXTURE = "drone-go-scm/cloud_repo-push_branch.json"
# Long enough that no deadline or idle timeout closes the connections the
# tests hold open (which would free a slot behind the test's back).
LIMITS = "http:\n  max_connections: %d\n  timeout_ms: 120000\n  idle_timeout_ms: 120000\n"
ANSWER_S = 15.0     # generous: CI is a noisy 2-core machine
PARTIAL = b"POST /hooks/bitbucket HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Event-Key: repo:pu"


def setup(max_connections, bin_path=None, extra=""):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    saved = H.BIN
    if bin_path:
        H.BIN = bin_path
    try:
        bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, DEPLOYMENTS,
                                       extra="queue:\n  content_dedupe: false\n" + extra
                                       + LIMITS % max_connections), mode="serve")
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


def partial(port):
    """A connection whose request has started and never ends."""
    s = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_S)
    s.sendall(PARTIAL)
    return s


def signed_post_bytes(body, delivery, close=True):
    sig = "sha256=" + hmac.new(H.SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = ("POST /hooks/bitbucket HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
            "Content-Type: application/json\r\nX-Event-Key: repo:push\r\n"
            "User-Agent: Bitbucket-Webhooks/2.0\r\nX-Request-UUID: %s\r\n"
            "X-Hub-Signature: %s\r\nContent-Length: %d\r\n\r\n"
            % ("Connection: close\r\n" if close else "", delivery, sig, len(body)))
    return head.encode() + body


def read_response(sock, timeout):
    """The whole response of a Connection: close request: (status, body)."""
    sock.settimeout(timeout)
    data = b""
    t0 = time.time()
    while True:
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            d = b""
        except socket.timeout:
            raise AssertionError("no whole response within %.0f s (got %r): at the cap, was the new "
                                 "connection neither served nor made room for?" % (time.time() - t0, data[:200]))
        if not d:
            break
        data += d
    if not data:
        raise AssertionError("the connection was closed without a response")
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


def deliver(port, delivery, timeout=ANSWER_S):
    """A signed delivery on a new connection: (status, json)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(signed_post_bytes(H.read_fixture(FIXTURE), delivery))
        status, body = read_response(s, timeout)
    finally:
        s.close()
    return status, json.loads(body)


def closed_by_server(sock, wait):
    """True if the server closed sock (FIN or RST) within wait seconds,
    False if it is still open then. Bytes that came first are ignored."""
    deadline = time.time() + wait
    while True:
        p = select.poll()
        p.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        left = deadline - time.time()
        if left <= 0 or not p.poll(left * 1000):
            return False
        try:
            if not sock.recv(65536, socket.MSG_DONTWAIT):
                return True
        except BlockingIOError:
            pass
        except OSError:
            return True


def metric(bs, name):
    st, _, raw, _ = bs.get("/metrics")
    assert st == 200, raw
    m = re.search(r"^%s (\d+)$" % re.escape(name), raw.decode(), re.M)
    assert m, "%s missing from /metrics:\n%s" % (name, raw.decode())
    return int(m.group(1))


def which_shed(held, names, wait=ANSWER_S):
    """The names of the held connections the server has closed, waiting
    up to `wait` for at least one."""
    deadline = time.time() + wait
    while time.time() < deadline:
        gone = [n for s, n in zip(held, names) if closed_by_server(s, 0.05)]
        if gone:
            return gone
    return []


def test_at_the_cap_the_oldest_idle_connection_is_shed():
    redis, sleuth, bs = setup(4)
    held = []
    try:
        for _ in range(4):
            held += idle(bs.port, 1)
            time.sleep(0.1)     # accepted in this order: the first is the oldest
        time.sleep(0.3)
        t0 = time.time()
        status, js = deliver(bs.port, "{limits-over-the-cap}")
        print("  the fifth connection was answered in %.3f s" % (time.time() - t0), flush=True)
        assert status == 202 and js["delivery"] == "{limits-over-the-cap}", (status, js)
        # The oldest idle one made room; the three younger are still open.
        assert closed_by_server(held[0], ANSWER_S), "the oldest idle connection was not shed"
        for i, s in enumerate(held[1:], 1):
            assert not closed_by_server(s, 0.3), "idle connection %d (not the oldest) was shed" % i
        # The scrape takes a slot too: 3 held + the scrape = the cap, no shed.
        assert metric(bs, 'bitsleuth_http_closed_total{reason="shed"}') == 1
        for i, s in enumerate(held[1:], 1):
            assert not closed_by_server(s, 0.1), "idle connection %d shed by the scrape under the cap" % i
        assert redis.cmd("XLEN", "{bstest}:jobs") == 1
        for s in held:
            s.close()
        held = []
        H.wait_for(lambda: metric(bs, "bitsleuth_http_connections_open") == 1, 10,
                   what="open connections back to the scrape's own")
    finally:
        for s in held:
            s.close()
        H.shutdown(redis, sleuth, bs)


def test_idle_connections_are_shed_before_unfinished_requests():
    """The oldest idle connection goes first even when an unfinished
    request is older; with no idle one left, the oldest unfinished
    request goes."""
    redis, sleuth, bs = setup(3)
    held = []
    try:
        a = partial(bs.port)                    # oldest, unfinished
        time.sleep(0.1)
        b = idle(bs.port, 1)[0]                 # idle
        time.sleep(0.1)
        c = partial(bs.port)                    # unfinished
        held = [a, b, c]
        time.sleep(0.3)
        status, js = deliver(bs.port, "{limits-shed-idle-first}")
        assert status == 202, (status, js)
        gone = which_shed(held, "abc")
        assert gone == ["b"], "want the idle connection b shed, not %s" % (gone or "none")
        held.remove(b)
        b.close()
        # Now only unfinished requests, a older than c, and a third one.
        d = partial(bs.port)
        held.append(d)
        time.sleep(0.3)
        assert not closed_by_server(a, 0.2) and not closed_by_server(c, 0.1), "shed under the cap"
        status, js = deliver(bs.port, "{limits-shed-oldest-unfinished}")
        assert status == 202, (status, js)
        gone = which_shed(held, "acd")
        assert gone == ["a"], "want the oldest unfinished request a shed, not %s" % (gone or "none")
        assert metric(bs, 'bitsleuth_http_closed_total{reason="shed"}') == 2
        assert redis.cmd("XLEN", "{bstest}:jobs") == 2, "a shed partial request was queued"
    finally:
        for s in held:
            s.close()
        H.shutdown(redis, sleuth, bs)


def test_a_request_being_handled_is_never_shed():
    """A complete request waiting for Redis (writes paused with CLIENT
    PAUSE WRITE, shorter than redis.command_timeout_ms) is not shed to make
    room: the unfinished one is, although younger."""
    redis, sleuth, bs = setup(2)
    held = []
    results = {}
    try:
        body = H.read_fixture(FIXTURE)
        assert redis.cmd("CLIENT", "PAUSE", "1500", "WRITE") == "OK"
        a = socket.create_connection(("127.0.0.1", bs.port), timeout=ANSWER_S)
        held.append(a)
        a.sendall(signed_post_bytes(body, "{limits-being-handled}"))

        def read_a():
            try:
                results["a"] = read_response(a, ANSWER_S)
            except Exception as e:
                results["a"] = e
        t = threading.Thread(target=read_a, daemon=True)
        t.start()
        time.sleep(0.3)     # a is whole and waiting for Redis
        b = partial(bs.port)
        held.append(b)
        time.sleep(0.2)
        status, js = deliver(bs.port, "{limits-third}")
        assert status == 202, (status, js)
        t.join(ANSWER_S)
        got = results.get("a")
        assert isinstance(got, tuple) and got[0] == 202, \
            "the request being handled was shed or failed: %r" % (got,)
        assert closed_by_server(b, ANSWER_S), "the unfinished request was not shed"
        assert metric(bs, 'bitsleuth_http_closed_total{reason="shed"}') >= 1
        assert redis.cmd("XLEN", "{bstest}:jobs") == 2
    finally:
        try:
            redis.cmd("CLIENT", "UNPAUSE")
        except Exception:
            pass
        for s in held:
            s.close()
        H.shutdown(redis, sleuth, bs)


def test_many_connections_in_turn_through_a_small_cap():
    """Connections that ended (answered, hung up early, sent half a
    request) give their slot back; without that the fourth would be the
    last one ever served. The cap is 3: a connection the client just closed
    may still be open at the server when the next one arrives (the loop can
    see a FIN and a SYN in either order), so after each one the test waits
    for the server to count only the scrape's own connection, and that
    scrape plus the two connections at most not yet seen closed fit."""
    redis, sleuth, bs = setup(3)
    try:
        for i in range(12):
            if i % 3 == 1:
                s = socket.create_connection(("127.0.0.1", bs.port), timeout=ANSWER_S)
                s.close()
            elif i % 3 == 2:
                s = socket.create_connection(("127.0.0.1", bs.port), timeout=ANSWER_S)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
                s.close()
            else:
                st, js, raw, _ = bs.get("/healthz")
                assert st == 200 and js["status"] == "ok", raw
            H.wait_for(lambda: metric(bs, "bitsleuth_http_connections_open") == 1, 10,
                       what="the ended connection's slot back")
        # Each got its slot back: never a need to shed.
        assert metric(bs, 'bitsleuth_http_closed_total{reason="shed"}') == 0, "a slot was not given back (a shed was needed)"
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
