"""Time is the push's time on every replay path, through the real binary:
the `date` Sleuth receives for `replay --delivery` and `dlq replay` is the
original delivery's (within the second it was received, and at least 2 s
before the replay, which the test waits for so that the two differ), for
`replay --event` the payload's own date (Data Center), else --date, else
now, which the command then says on stderr. Bad --date values are refused
with a clear error."""
import calendar
import datetime
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

PREFIX = "bstest"
CLOUD = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))      # repo:push
DC_PATH = "drone-go-scm/dc_repo-refs_changed_branch-add.json"                       # repo:refs_changed
WEB = {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}
DCWEB = {"org": "acme", "deployment": "dc-web", "repository": "PRJ/my-repo", "branch": "develop"}
GAP = 2.2   # seconds between the original and its replay


def cloud_push(sha):
    p = json.loads(json.dumps(CLOUD))
    p["push"]["changes"][0]["new"]["target"]["hash"] = sha
    return json.dumps(p).encode()


def start():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, [WEB, DCWEB], prefix=PREFIX))
    return redis, sleuth, bs


def cli(bs, *args):
    p = subprocess.run([H.BIN] + list(args) + ["-c", bs.config], env=bs.env, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def unix(date):
    """A register_deploy date ("YYYY-MM-DDTHH:MM:SS.mmmZ", the one shape
    for both products) as unix seconds (float, milliseconds included)."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", date), date
    d = datetime.datetime.strptime(date[:19], "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(d.timetuple()) + int(date[20:23]) / 1000.0


def wait_answered(redis, sleuth, n, what):
    H.wait_for(lambda: len(sleuth.answered(200)) >= n and H.settled(redis, PREFIX), 30, what=what)
    return sleuth.answered(200)[n - 1]["json"]


def posted(bs, body, delivery):
    """Posts a push; returns (time before, time after) the answer."""
    t0 = time.time()
    st, js, raw, _ = bs.post("repo:push", body, delivery=delivery)
    t1 = time.time()
    assert st == 202 and js["status"] == "queued", raw
    return t0, t1


def assert_original_time(date, t0, t1, replayed_at):
    """date (to the millisecond) is within the time the original was
    being received and clearly not the replay's time."""
    d = unix(date)
    assert t0 - 0.001 <= d <= t1, (date, t0, t1)
    assert replayed_at - d >= GAP - 1.0, ("the replay time, not the push's", date, replayed_at)


def test_replay_delivery_keeps_the_push_time():
    redis, sleuth, bs = start()
    try:
        t0, t1 = posted(bs, cloud_push("c" * 40), "{keep-time}")
        first = wait_answered(redis, sleuth, 1, "the push registered")
        assert_original_time(first["date"], t0, t1, time.time() + GAP)
        time.sleep(GAP)
        replayed_at = time.time()
        rc, out, err = cli(bs, "replay", "--delivery", "{keep-time}")
        assert rc == 0 and out.startswith("queued:"), (out, err)
        assert "dated now" not in err, err
        again = wait_answered(redis, sleuth, 2, "the replay registered")
        assert again["sha"] == "c" * 40
        assert again["date"] == first["date"], (again["date"], first["date"])
        assert_original_time(again["date"], t0, t1, replayed_at)
        # The replay is kept with the original's time: its own replay too.
        new_id = out.split()[2]
        rc, out, err = cli(bs, "replay", "--delivery", new_id)
        assert rc == 0 and out.startswith("queued:"), (out, err)
        third = wait_answered(redis, sleuth, 3, "the replay of the replay registered")
        assert third["date"] == first["date"], third
        # --date does not go with a kept delivery.
        rc, out, err = cli(bs, "replay", "--delivery", "{keep-time}", "--date", "2026-11-30T12:00:00Z")
        assert rc == 2 and "--date goes with --event" in err and not out, (rc, out, err)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_dlq_replay_keeps_the_push_time():
    redis, sleuth, bs = start()
    broken = [True]
    sleuth.responder = lambda req: (404, "no such deployment", {}) if broken[0] else (200, "Success", {})
    try:
        t0, t1 = posted(bs, cloud_push("d" * 40), "{dead-time}")
        H.wait_for(lambda: redis.cmd("XLEN", "{%s}:dead" % PREFIX) == 1, 15, what="dead letter")
        failed = sleuth.requests[0]["json"]
        assert_original_time(failed["date"], t0, t1, time.time() + GAP)
        rc, out, err = cli(bs, "dlq", "list", "--json")
        assert rc == 0, err
        dead = json.loads(out)
        assert len(dead) == 1, dead
        time.sleep(GAP)
        broken[0] = False
        replayed_at = time.time()
        rc, out, err = cli(bs, "dlq", "replay", dead[0]["id"])
        assert rc == 0, (out, err)
        got = wait_answered(redis, sleuth, 1, "the dead letter registered after its replay")
        assert got["sha"] == "d" * 40
        assert got["date"] == failed["date"], (got["date"], failed["date"])
        assert_original_time(got["date"], t0, t1, replayed_at)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_replay_event_uses_the_payload_date_else_date_else_says_now():
    redis, sleuth, bs = start()
    try:
        # Data Center: the payload's own date.
        dc = os.path.join(H.FIXTURES, DC_PATH)
        rc, out, err = cli(bs, "replay", "--event", "repo:refs_changed", dc, "--delivery-id", "dc-1")
        assert rc == 0 and out.startswith("queued:"), (out, err)
        assert "dated now" not in err, err
        got = wait_answered(redis, sleuth, 1, "the DC payload registered")
        assert got["date"] == "2018-07-05T18:24:15.000Z", got   # "date": "2018-07-05T18:24:15+0000"
        # ... also when --date is given; the command says which one counts.
        rc, out, err = cli(bs, "replay", "--event", "repo:refs_changed", dc, "--delivery-id", "dc-2",
                           "--date", "2026-11-30T12:00:00Z")
        assert rc == 0 and "has its own date (2018-07-05T18:24:15.000Z)" in err, (out, err)
        got = wait_answered(redis, sleuth, 2, "the DC payload registered again")
        assert got["date"] == "2018-07-05T18:24:15.000Z", got

        # Cloud (no date in a push payload) with --date, ISO-8601 UTC ...
        path = os.path.join(bs.dir, "cloud.json")
        with open(path, "wb") as f:
            f.write(cloud_push("e" * 40))
        rc, out, err = cli(bs, "replay", "--event", "repo:push", path, "--delivery-id", "{c-1}",
                           "--date", "2026-11-30T12:00:00Z")
        assert rc == 0 and out.startswith("queued:") and "bitsleuth replay:" not in err, (out, err)
        got = wait_answered(redis, sleuth, 3, "the Cloud payload with --date")
        assert got["date"] == "2026-11-30T12:00:00.000Z", got
        # ... with a fraction (kept to the millisecond), or as unix milliseconds.
        rc, out, err = cli(bs, "replay", "--event", "repo:push", path, "--delivery-id", "{c-2}",
                           "--date", "2026-11-30T12:00:05.250Z")
        assert rc == 0 and "bitsleuth replay:" not in err, (out, err)
        assert wait_answered(redis, sleuth, 4, "--date with a fraction")["date"] == "2026-11-30T12:00:05.250Z"
        rc, out, err = cli(bs, "replay", "--event", "repo:push", path, "--delivery-id", "{c-3}",
                           "--date", "1796040010000")
        assert rc == 0 and "bitsleuth replay:" not in err, (out, err)
        assert wait_answered(redis, sleuth, 5, "--date in unix ms")["date"] == "2026-11-30T12:00:10.000Z"
        # Without --date: now, and it says so.
        t0 = time.time()
        rc, out, err = cli(bs, "replay", "--event", "repo:push", path, "--delivery-id", "{c-4}")
        t1 = time.time()
        assert rc == 0 and out.startswith("queued:"), (out, err)
        assert "the payload has no date of its own" in err and "dated now" in err and "--date" in err, err
        got = wait_answered(redis, sleuth, 6, "the Cloud payload without --date")
        assert t0 - 0.001 <= unix(got["date"]) <= t1, (got, t0, t1)

        # Bad values: a clear error, exit 2, nothing queued.
        queued = redis.cmd("HGET", "{%s}:stats" % PREFIX, "queued")
        for bad in ("2026-11-30", "2026-11-30T12:00:00", "2026-11-30T12:00:00+02:00",
                    "2026-02-30T12:00:00Z", "2026-11-30T24:00:00Z", "1796040010", "soon", "",
                    "1969-12-31T23:59:59Z", "2026-11-30T12:00:00.Z", "-1796040010000"):
            rc, out, err = cli(bs, "replay", "--event", "repo:push", path, "--delivery-id", "{bad}",
                               "--date", bad)
            assert rc == 2 and not out, (bad, rc, out, err)
            assert "bad --date '%s'" % bad in err and "2026-11-30T12:00:00Z" in err, (bad, err)
        assert redis.cmd("HGET", "{%s}:stats" % PREFIX, "queued") == queued
        rc, out, err = cli(bs, "replay", "--log", "--date", "2026-11-30T12:00:00Z")
        assert rc == 2 and "--date goes with --event" in err, (rc, out, err)
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
