#!/usr/bin/env python3
"""Redis cost per deploy: how many commands bitsleuth sends to Redis (round
trips) and how many Redis runs in all (including those inside the Lua
scripts) for each push registered, counted with MONITOR while one
`bitsleuth run` registers PUSHES pushes over TARGETS targets against a
loopback Sleuth that answers 200 at once.

    bench/redis_cost.py [--binary build/bitsleuth] [--pushes 200] [--targets 20]
                        [--same-target-burst]

Two shapes: by default each target's pushes arrive one after another with
the previous one already registered (the common case); with
--same-target-burst all pushes of a target arrive at once, so most of them
wait in the target's lane (parked, then woken). The background work of the
worker's one-second tick (promote, claim, sweep) is counted too, and shown
apart. To compare with another version, build it and pass --binary: the
script uses only the CLI and config keys every version has.
"""
import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness as H  # noqa: E402

BASE = None


def push_body(branch, sha):
    import json
    p = json.loads(json.dumps(BASE))
    p["push"]["changes"][0]["new"]["name"] = branch
    p["push"]["changes"][0]["new"]["target"]["hash"] = sha
    return json.dumps(p).encode()


class Monitor(threading.Thread):
    """Counts MONITOR lines: client commands by name, Lua-run ones apart."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"MONITOR\r\n")
        self.client = {}
        self.lua = 0
        self.lock = threading.Lock()
        self.on = False
        self.stop_ = False

    def run(self):
        buf = b""
        while not self.stop_:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            *lines, buf = buf.split(b"\r\n")
            with self.lock:
                if not self.on:
                    continue
                for ln in lines:
                    if not ln.startswith(b"+") or b"] \"" not in ln:
                        continue
                    who, _, cmd = ln.partition(b"] \"")
                    name = cmd.split(b"\"", 1)[0].upper().decode()
                    if who.endswith(b"lua"):
                        self.lua += 1
                    else:
                        self.client[name] = self.client.get(name, 0) + 1


def main():
    global BASE
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join("build", "bitsleuth"))
    ap.add_argument("--pushes", type=int, default=200)
    ap.add_argument("--targets", type=int, default=20)
    ap.add_argument("--same-target-burst", action="store_true")
    a = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    if a.binary == ap.get_default("binary"):
        # This checkout's binary, built first (as bench/run.sh does).
        import subprocess
        subprocess.run([os.path.join(root, "scripts", "deps.sh"), "build"], check=True)
        subprocess.run(["cmake", "-S", root, "-B", os.path.join(root, "build")], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", os.path.join(root, "build"), "--target", "bitsleuth"],
                       check=True, stdout=subprocess.DEVNULL)
        a.binary = os.path.join(root, "build", "bitsleuth")
    H.BIN = os.path.abspath(a.binary)
    import json
    BASE = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    deps = [{"org": "acme", "deployment": "svc%02d" % t, "repository": "brydzewski/foo",
             "branch": "b%02d" % t} for t in range(a.targets)]
    cfg = H.make_config(redis.port, sleuth.url, deps).replace("log_level: debug", "log_level: info")
    bs = H.Bitsleuth(cfg)
    mon = Monitor(redis.port)
    mon.start()
    try:
        time.sleep(0.3)
        with mon.lock:
            mon.on = True
        t0 = time.time()
        per = a.pushes // a.targets
        if a.same_target_burst:
            order = [(t, k) for t in range(a.targets) for k in range(per)]
        else:
            order = [(t, k) for k in range(per) for t in range(a.targets)]
        done = 0
        for t, k in order:
            if not a.same_target_burst:
                # The previous push of this target is registered already.
                H.wait_for(lambda: len(sleuth.answered(200)) >= done - a.targets + 1, 30,
                           what="the previous push")
            st = bs.post("repo:push", push_body("b%02d" % t, "%08x%032x" % (t + 1, k + 1)))[0]
            assert st == 202, st
            done += 1
        H.wait_for(lambda: len(sleuth.answered(200)) >= done, 120, what="all registered")
        H.wait_for(lambda: H.settled(redis), 60, what="queue settled")
        took = time.time() - t0
        with mon.lock:
            mon.on = False
            client = dict(mon.client)
            lua = mon.lua
        # The tick's own traffic over the same time, measured idle after.
        with mon.lock:
            mon.client, mon.lua, mon.on = {}, 0, True
        time.sleep(3.0)
        with mon.lock:
            mon.on = False
            idle = sum(mon.client.values()) / 3.0
        n = done
        total_client = sum(client.values())
        tick = idle * took
        print("binary %s, %d pushes over %d targets (%s), %.1fs" % (
            a.binary, n, a.targets, "bursts per target" if a.same_target_burst else "one after another", took))
        print("  client commands: %d (%.2f per deploy; %.2f per deploy without the tick's %.1f/s)" % (
            total_client, total_client / n, (total_client - tick) / n, idle))
        print("  by command: %s" % ", ".join("%s %d" % kv for kv in sorted(client.items(), key=lambda kv: -kv[1])))
        print("  commands run inside scripts: %d (%.2f per deploy)" % (lua, lua / n))
    finally:
        mon.stop_ = True
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    main()
