#!/usr/bin/env python3
"""/metrics of the real binary after known traffic (issue 14): the exact
deltas of the labeled counters and histogram counts that a set of
deliveries and Sleuth answers must produce, build_info and process_*, and
`promtool check metrics` (Debian's prometheus package) on the whole scrape.
Runs `bitsleuth run` and reads the ingest port's /metrics (metrics_listen
unset); the dedicated metrics port of serve and work has its own test."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

PUSH = "drone-go-scm/cloud_repo-push_branch.json"    # brydzewski/foo, master
PING = "jenkinsci-bitbucket-branch-source-plugin/dc_diagnostics-ping.json"
D = "bitsleuth_deliveries_total"
DEP = "bitsleuth_deploys_total"
SL = "bitsleuth_sleuth_request_duration_seconds"
ING = "bitsleuth_ingest_request_duration_seconds"

# One push hits all four: Sleuth registers foo-web, refuses foo-dead (404:
# a dead letter at once), fails foo-retry (500 each time: one retry, then
# dead after retry.max_attempts 2); foo-dry is a dry run, never sent.
DEPLOYMENTS = [
    {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"},
    {"org": "acme", "deployment": "foo-dead", "repository": "brydzewski/foo", "branch": "master",
     "environment": "staging"},
    {"org": "acme", "deployment": "foo-retry", "repository": "brydzewski/foo", "branch": "master",
     "environment": "qa"},
    {"org": "acme", "deployment": "foo-dry", "repository": "brydzewski/foo", "branch": "master",
     "environment": "dev", "dry_run": True},
]
EXTRA = ("retry:\n  base: 100ms\n  cap: 200ms\n  max_attempts: 2\n"
         "queue:\n  content_dedupe: false\n")


def responder(req):
    if "/foo-dead/" in req["path"]:
        return (404, "no such deployment", {})
    if "/foo-retry/" in req["path"]:
        return (500, "oops", {})
    return (200, "Success", {})


def setup(extra=EXTRA, deployments=DEPLOYMENTS):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    sleuth.responder = responder
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, deployments, extra=extra))
    return redis, sleuth, bs


def delta(after, before, key):
    return after.get(key, 0) - before.get(key, 0)


def check_deltas(before, after, want):
    bad = ["%s: %s, want %s" % (k, delta(after, before, k), v) for k, v in want.items()
           if delta(after, before, k) != v]
    if bad:
        H.fail("metric deltas:\n  " + "\n  ".join(bad))


def test_deltas_after_known_traffic():
    redis, sleuth, bs = setup()
    try:
        text0, m0 = H.scrape(bs)
        H.promtool_check(text0)
        # Every configured deployment has its deploys series from the start.
        for d in DEPLOYMENTS:
            for o in ("registered", "retry", "dead", "dry_run", "superseded", "same_sha"):
                k = H.series(DEP, deployment=d["deployment"], outcome=o)
                if m0.get(k) != 0:
                    H.fail("%s is %r at start, want 0" % (k, m0.get(k)))

        body = H.read_fixture(PUSH)
        ping = H.read_fixture(PING)
        uuid = "{0f3d8a5e-7c1b-4e2a-9d6f-m3tr1c5a11ce}"
        posts = [
            (dict(event_key="repo:push", body=body, delivery=uuid), 202),
            (dict(event_key="repo:push", body=body, delivery=uuid), 200),               # duplicate
            (dict(event_key="repo:push", body=body, secret="wrong"), 401),
            (dict(event_key="repo:push", body=body, content_type="text/plain"), 415),
            (dict(event_key="repo:push", body=body[:-3]), 400),
            (dict(event_key="repo:fork", body=body), 202),                               # ignored
            (dict(event_key='evil"key\\', body=body), 202),                             # ignored, "other"
            (dict(event_key="diagnostics:ping", body=ping, delivery=False,
                  headers={"X-Request-Id": "ping-1"}), 200),
        ]
        for kw, want in posts:
            st, js, raw, _ = bs.post(**kw)
            if st != want:
                H.fail("%s: %d %r, want %d" % (kw["event_key"], st, raw[:200], want))
        # foo-web and foo-dead answered, foo-retry twice, foo-dry recorded.
        H.wait_for(lambda: H.settled(redis) and len(sleuth.requests) == 4, 30,
                   what="the push's deploys to reach their outcomes")
        text, m = H.scrape(bs)
        H.promtool_check(text)

        def dl(product, event, outcome):
            return H.series(D, product=product, event=event, outcome=outcome)
        want = {
            "bitsleuth_http_requests_total": len(posts) + 1,       # + this scrape
            dl("cloud", "repo:push", "queued"): 1,
            dl("cloud", "repo:push", "duplicate"): 1,
            dl("cloud", "repo:push", "signature"): 1,
            dl("cloud", "repo:push", "media_type"): 1,
            dl("cloud", "repo:push", "payload"): 1,
            dl("cloud", "other", "ignored"): 2,
            dl("dc", "diagnostics:ping", "ping"): 1,
            H.series("bitsleuth_signatures_total", secret="current"): 5,
            H.series("bitsleuth_signatures_total", secret="previous"): 0,
            H.series(ING + "_count", outcome="queued"): 1,
            H.series(ING + "_count", outcome="duplicate"): 1,
            H.series(ING + "_count", outcome="signature"): 1,
            H.series(ING + "_count", outcome="media_type"): 1,
            H.series(ING + "_count", outcome="payload"): 1,
            H.series(ING + "_count", outcome="ignored"): 2,
            H.series(ING + "_count", outcome="ping"): 1,
            H.series("bitsleuth_jobs_total", outcome="read"): 2,   # the push, then its retry
            H.series(DEP, deployment="foo-web", outcome="registered"): 1,
            H.series(DEP, deployment="foo-dead", outcome="dead"): 1,
            H.series(DEP, deployment="foo-retry", outcome="retry"): 1,
            H.series(DEP, deployment="foo-retry", outcome="dead"): 1,
            H.series(DEP, deployment="foo-dry", outcome="dry_run"): 1,
            H.series(DEP, deployment="foo-web", outcome="retry"): 0,
            H.series(SL + "_count", deployment="foo-web", outcome="ok"): 1,
            H.series(SL + "_count", deployment="foo-dead", outcome="dead"): 1,
            H.series(SL + "_count", deployment="foo-retry", outcome="retry"): 2,
            H.series(SL + "_bucket", deployment="foo-retry", outcome="retry", le="+Inf"): 2,
            # registered, dead, dead (after its retry), dry_run: not the retry
            "bitsleuth_queue_wait_seconds_count": 4,
            'bitsleuth_queue_wait_seconds_bucket{le="+Inf"}': 4,
        }
        check_deltas(m0, m, want)
        # Nothing else moved: one delivery outcome per post.
        if H.total(m, D) - H.total(m0, D) != len(posts):
            H.fail("deliveries_total moved by %d, want %d" % (H.total(m, D) - H.total(m0, D), len(posts)))
        if H.series(SL + "_count", deployment="foo-dry", outcome="ok") in m:
            H.fail("a dry run has a Sleuth request duration")
        if "evil" in text:
            H.fail("a request's event key reached /metrics")
        # Buckets are cumulative, end at _count, and _sum is in seconds.
        for key in (H.series(SL + "_count", deployment="foo-web", outcome="ok"),
                    "bitsleuth_queue_wait_seconds_count"):
            base = key[:-len("_count")] if "{" not in key else key.split("_count{")[0]
            labels = "" if "{" not in key else key.split("{", 1)[1][:-1] + ","
            buckets = [(k, v) for k, v in m.items() if k.startswith(base + "_bucket{" + labels)
                       and k.count(",") == labels.count(",")]
            vals = [v for _, v in buckets]
            if not vals or vals != sorted(vals) or vals[-1] != m[key]:
                H.fail("%s: buckets %r are not cumulative up to _count %r" % (key, buckets, m[key]))
            s = m[key.replace("_count", "_sum")]
            if not 0 <= s < 60:
                H.fail("%s: _sum %r not seconds of a loopback test" % (key, s))
        # build_info and process_*
        bi = [k for k in m if k.startswith("bitsleuth_build_info{")]
        if len(bi) != 1 or m[bi[0]] != 1:
            H.fail("build_info: %r" % bi)
        _, labels = H.labels_of(bi[0])
        if sorted(labels) != ["curl", "hiredis", "libevent", "openssl", "version"] or \
                "unknown" in labels.values() or not labels["version"]:
            H.fail("build_info labels: %r" % labels)
        out = os.popen("%s --version" % H.BIN).read()
        if labels["version"] not in out:
            H.fail("build_info version %r is not --version's %r" % (labels["version"], out))
        if not m.get("process_resident_memory_bytes", 0) > 1 << 20:
            H.fail("process_resident_memory_bytes: %r" % m.get("process_resident_memory_bytes"))
        if not 3 <= m.get("process_open_fds", 0) <= m.get("process_max_fds", 0):
            H.fail("process fds: %r / %r" % (m.get("process_open_fds"), m.get("process_max_fds")))
        start = m.get("process_start_time_seconds", 0)
        if not time.time() - 600 < start <= time.time() + 1:
            H.fail("process_start_time_seconds %r" % start)
        if m.get("process_cpu_seconds_total", -1) < m0.get("process_cpu_seconds_total", 0):
            H.fail("process_cpu_seconds_total went down")
        bs.stop()
        bs.assert_clean_log()
    finally:
        H.shutdown(redis, sleuth, bs)


# Families of the README table a process shows only in some states.
CONDITIONAL = {"bitsleuth_api_budget_remaining", "bitsleuth_redis_replica_lag_seconds",
               "bitsleuth_lanes", "bitsleuth_lane_waiting", "bitsleuth_lanes_held",
               "bitsleuth_lane_oldest_head_age_seconds", "bitsleuth_discovered_targets",
               "bitsleuth_discovery_learned_timestamp_seconds"}


def readme_families():
    """The family names in the first column of README "### Metrics"."""
    with open(os.path.join(H.SOURCE_DIR, "README.md"), encoding="utf-8") as f:
        text = f.read()
    sec = text.split("\n### Metrics\n", 1)[1].split("\n#", 1)[0]
    table = sec.split("**Renamed series**")[0]
    names = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


def test_readme_lists_every_family():
    """README's Metrics table and a real scrape name the same families."""
    redis, sleuth, bs = setup()
    try:
        text, _ = H.scrape(bs)
        served = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
        doc = readme_families()
        if served - doc:
            H.fail("served but not in README's Metrics table: %s" % sorted(served - doc))
        queue = {n for n in doc if n.startswith("bitsleuth_queue_") and n != "bitsleuth_queue_wait_seconds"}
        missing = doc - served - CONDITIONAL - queue
        if missing:
            H.fail("in README's Metrics table but not served: %s" % sorted(missing))
    finally:
        H.shutdown(redis, sleuth, bs)


def test_reload_adds_a_deployment_series():
    """SIGHUP with one more deployment: its series appear at its first
    deploy, the others keep their counts (counters never reset)."""
    redis, sleuth, bs = setup(extra="queue:\n  content_dedupe: false\n", deployments=DEPLOYMENTS[:1])
    try:
        body = H.read_fixture(PUSH)
        assert bs.post("repo:push", body)[0] == 202
        H.wait_for(lambda: H.settled(redis) and len(sleuth.requests) == 1, 30, what="the first deploy")
        added = {"org": "acme", "deployment": "foo-new", "repository": "brydzewski/foo", "branch": "master",
                 "environment": "canary"}
        with open(bs.config, "w") as f:
            f.write(H.make_config(redis.port, sleuth.url, DEPLOYMENTS[:1] + [added],
                                  extra="queue:\n  content_dedupe: false\n"))
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: ": 2 deployments" in bs.log(), 10, what="the reload")
        assert bs.post("repo:push", body)[0] == 202
        H.wait_for(lambda: H.settled(redis) and len(sleuth.requests) == 3, 30, what="the deploys after reload")
        text, m = H.scrape(bs)
        H.promtool_check(text)
        check_deltas({}, m, {
            H.series(DEP, deployment="foo-web", outcome="registered"): 2,
            H.series(DEP, deployment="foo-new", outcome="registered"): 1,
            H.series(SL + "_count", deployment="foo-new", outcome="ok"): 1,
        })
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([
        ("deltas after known traffic, promtool on the whole scrape", test_deltas_after_known_traffic),
        ("a reload adds a deployment's series", test_reload_adds_a_deployment_series),
        ("README's Metrics table names every family served", test_readme_lists_every_family),
    ])
