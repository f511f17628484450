"""Accounting under concurrency, through the real binaries: two `serve` and
three `work` processes on one Redis, 300 pushes over 30 targets, a Sleuth
that stumbles at random (503, 429 with Retry-After, hang-up, slower than
the timeout, 500), and one `work` process SIGKILLed mid-run and restarted.
Every push must be registered exactly once as Sleuth counts it (a repeat
of a sha Sleuth already holds is ignore_if_duplicate's business, and may
only come from a call whose answer was lost: slower than the timeout, or
in flight at the kill), in push order per target, with nothing superseded.
The test prints the figures."""
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
import test_streams as S  # noqa: E402  (reads and validates {p}:deploys, issue 15)

BASE = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
N_TARGETS = 30
N_PUSHES = 300
SENDERS = 6
CONCURRENCY = 4          # per work process
SLEUTH_TIMEOUT_MS = 1500
EXTRA = ("retry:\n  base: 100ms\n  cap: 800ms\n  max_attempts: 60\n"
         "worker:\n  concurrency: %d\n  visibility_timeout: 4s\n" % CONCURRENCY)


def push_body(branch, sha):
    p = json.loads(json.dumps(BASE))
    p["push"]["changes"][0]["new"]["name"] = branch
    p["push"]["changes"][0]["new"]["target"]["hash"] = sha
    return json.dumps(p).encode()


def test_every_push_once_in_order_with_many_processes_faults_and_a_kill():
    rnd = random.Random(9)
    redis = H.RedisServer(appendonly=True)
    sleuth = H.SleuthStandIn()
    faults = {"503": 0, "429": 0, "hangup": 0, "slow": 0, "500": 0}
    flock = threading.Lock()

    def responder(req):
        with flock:
            x = rnd.random()
            kind = None
            if x < 0.05:
                kind = "503"
            elif x < 0.09:
                kind = "429"
            elif x < 0.13:
                kind = "hangup"
            elif x < 0.16:
                kind = "slow"
            elif x < 0.20:
                kind = "500"
            if kind:
                faults[kind] += 1
        if kind == "503":
            return (503, "busy", {})
        if kind == "429":
            return (429, "slow down", {"Retry-After": "1"})
        if kind == "hangup":
            return "hangup"
        if kind == "slow":
            return ("slow", SLEUTH_TIMEOUT_MS / 1000.0 + 1.0, 200)
        if kind == "500":
            return (500, "oops", {})
        return (200, "Success", {})
    sleuth.responder = responder
    deps = [{"org": "acme", "deployment": "svc%02d" % t, "repository": "brydzewski/foo",
             "branch": "b%02d" % t} for t in range(N_TARGETS)]
    cfg = H.make_config(redis.port, sleuth.url, deps, extra=EXTRA, sleuth_timeout_ms=SLEUTH_TIMEOUT_MS)
    s1 = H.Bitsleuth(cfg, mode="serve")
    s2 = H.Bitsleuth(cfg, mode="serve", workdir=s1.dir)
    workers = [H.Bitsleuth(cfg, mode="work", workdir=s1.dir, consumer="w%d" % i) for i in range(3)]
    procs = [s1, s2] + workers
    # Push k of target t has sha (t, k); a target's pushes are sent one
    # after another (push order is the order of their 202s), the targets
    # in parallel over SENDERS threads and both serve processes.
    pushes = {t: [("%08x%032x" % (t + 1, k + 1)) for k in range(N_PUSHES // N_TARGETS)]
              for t in range(N_TARGETS)}
    errors = []

    def sender(i):
        srnd = random.Random(100 + i)
        mine = [t for t in range(N_TARGETS) if t % SENDERS == i]
        queue = [(t, k) for k in range(N_PUSHES // N_TARGETS) for t in mine]
        for t, k in queue:
            srv = s1 if srnd.random() < 0.5 else s2
            body = push_body("b%02d" % t, pushes[t][k])
            for _ in range(20):
                try:
                    st = srv.post("repo:push", body, delivery="{acct-%d-%d}" % (t, k))[0]
                except Exception as e:   # noqa: BLE001 - report below
                    st = repr(e)
                if st in (200, 202):
                    break
                time.sleep(0.2)
            else:
                errors.append((t, k, st))
            time.sleep(srnd.random() * 0.02)
    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(SENDERS)]
    try:
        t0 = time.time()
        for th in threads:
            th.start()
        # Kill one worker once a third of the deploys are in, then start it again.
        H.wait_for(lambda: len(sleuth.answered(200)) >= N_PUSHES // 3, 120, what="a third registered")
        victim = workers[1]
        victim.kill9()
        # At most its worker.concurrency calls were in flight at the kill.
        in_flight_at_kill = CONCURRENCY
        workers.append(H.Bitsleuth(cfg, mode="work", workdir=s1.dir, consumer="w1-again"))
        procs.append(workers[-1])
        for th in threads:
            th.join(240)
        assert not errors, errors[:5]
        want = {(t, pushes[t][k]) for t in range(N_TARGETS) for k in range(N_PUSHES // N_TARGETS)}

        def got():
            with sleuth.lock:
                return {(int(r["path"].split("/")[5][3:]), r["json"]["sha"]) for r in sleuth.requests
                        if r.get("answered") == 200}
        H.wait_for(lambda: want <= got(), 240, what="every push registered")
        H.wait_for(lambda: H.settled(redis), 60, what="nothing left pending, waiting or parked")
        took = time.time() - t0
        with sleuth.lock:
            reqs = sorted((r for r in sleuth.requests if r.get("answered") == 200), key=lambda r: r["at"])
        first = {}
        repeats = 0
        for r in reqs:
            t = int(r["path"].split("/")[5][3:])
            s = r["json"]["sha"]
            if (t, s) in first:
                repeats += 1
            else:
                first[(t, s)] = r["at"]
        assert set(first) == want, set(first) ^ want
        for t in range(N_TARGETS):
            seq = sorted(pushes[t], key=lambda s: first[(t, s)])
            assert seq == pushes[t], ("target %d registered out of push order" % t, seq, pushes[t])
        rc = subprocess.run([H.BIN, "stats", "--json", "-c", s1.config], env=s1.env, capture_output=True,
                            timeout=60)
        st = json.loads(rc.stdout)
        c = st["counters"]
        assert c.get("superseded", 0) == 0, c
        assert redis.cmd("XLEN", "{bstest}:dead") == 0, "no dead letters"
        # A repeat needs a lost answer: a call slower than the timeout, or
        # one in flight when its worker was killed.
        assert repeats <= faults["slow"] + in_flight_at_kill, (repeats, faults, in_flight_at_kill)
        # Every outcome counted above is on {p}:deploys (issue 15), schema-
        # valid: each push exactly one `registered` record for its target
        # and sha (a repeated call is still one outcome), with the job id its
        # delivery was queued as on {p}:events; nothing dead or superseded.
        deploys = S.read_stream(redis, "{bstest}:deploys")
        kinds = {}
        for d in deploys:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        assert kinds == {"registered": N_PUSHES}, kinds
        recorded = {}
        for d in deploys:
            r = d["record"]
            t = int(r["deployment"][3:])
            assert (t, r["sha"]) not in recorded, ("registered twice", r)
            recorded[(t, r["sha"])] = d
            assert d["target"] == r["target"] == "acme/svc%02d/production" % t, r
            k = pushes[t].index(r["sha"])
            assert d["delivery"] == "{acct-%d-%d}" % (t, k), (d["delivery"], t, k)
        assert set(recorded) == want, set(recorded) ^ want
        ev_list = S.read_stream(redis, "{bstest}:events")
        events = {e["delivery"]: e for e in ev_list}
        assert len(ev_list) == len(events) == N_PUSHES, (len(ev_list), len(events))
        for d in deploys:
            assert events[d["delivery"]]["job"] == d["job"], (d, events[d["delivery"]])
        print("  accounting: %d pushes over %d targets, 2 serve + 3 work (one SIGKILLed, restarted), "
              "%d registered once each in push order, superseded 0, %d repeated 2xx "
              "(<= %d slow + %d in flight at the kill), faults %s, %d Sleuth requests, %.1fs"
              % (N_PUSHES, N_TARGETS, len(first), repeats, faults["slow"], in_flight_at_kill,
                 json.dumps(faults), len(sleuth.requests), took), flush=True)
    finally:
        H.shutdown(redis, sleuth, *procs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
