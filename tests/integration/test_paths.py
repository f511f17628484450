#!/usr/bin/env python3
"""Issue 16, path prefixes (monorepos), through the real binary: a real
redis-server, the Sleuth stand-in and the Bitbucket API stand-in
(bb_api.py: every commit changes a list of files, served as Cloud diffstat
and Data Center changes). One repository, two code deployments of one
project on the same branch and environment, `web` (services/web/, not
services/web/docs/) and `api` (services/api/), in the project form.

  - a push touching services/web/ registers web and not api; one touching
    both registers both; one touching only services/web/docs/ neither
  - the targets of one push share one diffstat request (and the cache)
  - a skipped target leaves its lane: no lane, nothing pending, no
    outcome on {p}:deploys, no dead letter, no retry
  - Data Center: the changes endpoint, since..until
  - without API credentials, and during an API outage, both are
    registered (the files are unknown), counted "unknown"
"""
import copy
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_streams as S  # noqa: E402
from bb_api import FakeBitbucket  # noqa: E402

REPO = "acme/mono"
DC_REPO = "DCP/mono"
PUSH_TPL = "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-16-123921.json"
DC_TPL = "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_update_with-commits.json"
TOKEN = "bb-test-token"
PF = "bitsleuth_path_filter_total"

PROJECTS = """projects:
  - org: acme
    project: mono
    code_deployments:
      - deployment: web
        repository: acme/mono
        environments:
          production: main
        path_prefix:
          includes: [services/web/]
          excludes: [services/web/docs/]
      - deployment: api
        repository: acme/mono
        environments:
          production: main
        path_prefix: services/api/
      - deployment: dcweb
        repository: DCP/mono
        environments:
          production: master
        path_prefix: [services/web/]
      - deployment: dcapi
        repository: DCP/mono
        environments:
          production: master
        path_prefix:
          includes: [services/api/]
"""


def start(bb, token=True, max_wait="20s"):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    cfg = H.make_config(redis.port, sleuth.url, [], extra="backfill:\n  max_wait: %s\n" % max_wait)
    assert cfg.endswith("deployments:\n"), cfg
    cfg = cfg[:-len("deployments:\n")] + PROJECTS
    api = ("  api:\n    cloud_url: %s\n    server_url: %s\n" % (bb.url, bb.url)
           + ("    token_env: BS_IT_BB_TOKEN\n" if token else ""))
    cfg = cfg.replace("  secret_env: BS_IT_SECRET\n", "  secret_env: BS_IT_SECRET\n" + api, 1)
    bs = H.Bitsleuth(cfg, env_extra={"BS_IT_BB_TOKEN": TOKEN})
    return redis, sleuth, bs


def cloud_push(bb, old, new, listed, branch="main", created=False):
    """A real Cloud repo:push with one change, its commits from the graph."""
    r = bb._repo(REPO)
    p = json.loads(H.read_fixture(PUSH_TPL))
    p["repository"]["full_name"] = REPO
    ch = copy.deepcopy(p["push"]["changes"][0])
    ch["new"]["name"] = branch
    ch["new"]["target"] = bb._cloud_commit(r, r.commits[new])
    if created:
        ch["old"] = None
    else:
        ch["old"]["name"] = branch
        ch["old"]["target"] = {"type": "commit", "hash": old}
    ch["created"], ch["forced"], ch["closed"], ch["truncated"] = created, False, False, False
    ch["commits"] = [bb._cloud_commit(r, r.commits[h]) for h in reversed(listed)]
    p["push"]["changes"] = [ch]
    return json.dumps(p).encode()


def dc_push(bb, old, new, listed):
    r = bb._repo(DC_REPO)
    p = json.loads(H.read_fixture(DC_TPL))
    p["repository"]["slug"] = "mono"
    p["repository"]["project"]["key"] = "DCP"
    ch = p["changes"][0]
    ch["fromHash"], ch["toHash"] = old, new
    ch["ref"].update(id="refs/heads/master", displayId="master", type="BRANCH")
    ch["refId"], ch["type"] = "refs/heads/master", "UPDATE"
    p["toCommit"] = bb._dc_commit(r.commits[new])
    p["commits"] = [bb._dc_commit(r.commits[h]) for h in reversed(listed)]
    return json.dumps(p).encode()


def deployments_registered(sleuth):
    """The code deployments Sleuth registered, in order ("web", "api")."""
    return [r["path"].split("/deployments/")[1].split("/")[1] for r in sleuth.answered(200)]


def pushed(bs, redis, body, event="repo:push", dc=False):
    """Posts a push from one webhook (a new delivery each time: the same
    content again is queued again) and waits until its job is finished."""
    if dc:
        st, _, raw, _ = bs.post(event, body, headers={"X-Request-Id": "dc-%f" % time.time()}, delivery=False)
    else:
        st, _, raw, _ = bs.post(event, body, headers={"X-Hook-UUID": "{9f1c0a52-hook}"})
    assert st == 202, raw
    H.wait_for(lambda: H.settled(redis), 30, what="the push's job finished")


def no_lanes_left(redis):
    assert redis.cmd("ZCARD", "{bstest}:lanes") == 0
    assert redis.cmd("KEYS", "{bstest}:lane:*") == [], redis.cmd("KEYS", "{bstest}:lane:*")
    assert redis.cmd("XPENDING", "{bstest}:jobs", "workers")[0] == 0
    assert redis.cmd("XLEN", "{bstest}:dead") == 0
    assert redis.cmd("ZCARD", "{bstest}:retry") == 0


def diffstats(bb):
    return [r for r in bb.requests if "/diffstat/" in r.path]


def test_cloud_push_registers_the_code_deployments_it_touches():
    with FakeBitbucket(require_auth=("bearer", TOKEN), diffstat_pagelen=2) as bb:
        base = bb.linear(REPO, 2, branch="main", files=["README.md"])
        redis, sleuth, bs = start(bb)
        try:
            # 1. services/web/ only (three files, two pages): web, not api.
            web = bb.linear(REPO, 2, parent=base[-1], branch="main",
                            files=lambda i: ["services/web/src/app%d.js" % i, "README.md"])
            pushed(bs, redis, cloud_push(bb, base[-1], web[-1], web))
            assert deployments_registered(sleuth) == ["web"], deployments_registered(sleuth)
            assert sleuth.answered(200)[0]["json"]["sha"] == web[-1]
            # One list for both targets: its two pages, once.
            pages = diffstats(bb)
            assert [r.path for r in pages] == ["/2.0/repositories/acme/mono/diffstat/%s..%s" % (web[-1], base[-1])] * 2, \
                [(r.path, r.query) for r in pages]
            assert pages[1].query["page"] == ["2"], pages[1].query
            assert all(r.headers["authorization"] == "Bearer " + TOKEN for r in bb.requests)
            m = H.metrics(bs)
            assert m.get(H.series(PF, outcome="matched")) == 1, m
            assert m.get(H.series(PF, outcome="skipped")) == 1, m
            assert m.get(H.series(PF, outcome="unknown"), 0) == 0, m
            assert "acme/api/production: the push touches no file under its path prefixes; not registered" \
                in bs.log(), bs.log()[-3000:]
            # The skipped target left its lane; only web's outcome is a record.
            no_lanes_left(redis)
            deploys = S.read_stream(redis, "{bstest}:deploys")
            assert [(d["kind"], d["target"]) for d in deploys] == [("registered", "acme/web/production")], deploys
            assert redis.cmd("HGET", "{bstest}:deployed", "acme/api/production") is None
            # The list is cached for dead.max_age.
            key = "{bstest}:files:cloud:acme/mono:%s:%s" % (base[-1], web[-1])
            assert redis.cmd("GET", key) == b"paths\nservices/web/src/app1.js\nREADME.md\nservices/web/src/app0.js", \
                redis.cmd("GET", key)
            assert redis.cmd("TTL", key) > 86400

            # 2. Both folders: both registered, again with one list.
            both = bb.linear(REPO, 1, parent=web[-1], branch="main",
                             files=["services/api/main.go", "services/web/index.html"])
            pushed(bs, redis, cloud_push(bb, web[-1], both[-1], both))
            assert sorted(deployments_registered(sleuth)[1:]) == ["api", "web"], deployments_registered(sleuth)
            assert len(diffstats(bb)) == 3, [r.path for r in diffstats(bb)]

            # 3. Only web's excluded docs (and a file outside both): neither.
            docs = bb.linear(REPO, 1, parent=both[-1], branch="main",
                             files=["services/web/docs/guide.md", "services/worker/x.py"])
            pushed(bs, redis, cloud_push(bb, both[-1], docs[-1], docs))
            assert len(sleuth.answered(200)) == 3, deployments_registered(sleuth)
            assert len(diffstats(bb)) == 4
            m = H.metrics(bs)
            assert m.get(H.series(PF, outcome="matched")) == 3, m
            assert m.get(H.series(PF, outcome="skipped")) == 3, m
            no_lanes_left(redis)
            assert len(S.read_stream(redis, "{bstest}:deploys")) == 3

            # 4. The next web push: its commits since web's last deploy.
            again = bb.linear(REPO, 1, parent=docs[-1], branch="main", files=["services/web/a.css"])
            pushed(bs, redis, cloud_push(bb, docs[-1], again[-1], again))
            assert deployments_registered(sleuth)[3:] == ["web"], deployments_registered(sleuth)
            sent = sleuth.answered(200)[3]["json"]
            assert [c["revision"] for c in sent["commits"]] == [again[-1], docs[-1]], sent.get("commits")
            # 5. A created branch has no old commit: unknown, both go.
            feature = bb.linear(REPO, 1, parent=again[-1], branch="main", files=["services/web/b.css"])
            bb.reset_log()
            pushed(bs, redis, cloud_push(bb, None, feature[-1], feature, created=True))
            assert sorted(deployments_registered(sleuth)[4:]) == ["api", "web"], deployments_registered(sleuth)
            assert diffstats(bb) == []
            assert H.metric(bs, PF, outcome="unknown") == 2
            assert "no previous commit to compare with" in bs.log()
            no_lanes_left(redis)
        finally:
            H.shutdown(redis, sleuth, bs)


def test_a_replayed_push_uses_the_cache():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = bb.linear(REPO, 1, branch="main")
        new = bb.linear(REPO, 1, parent=base[-1], branch="main", files=["services/api/x.go"])
        redis, sleuth, bs = start(bb)
        try:
            body = cloud_push(bb, base[-1], new[-1], new)
            pushed(bs, redis, body)
            assert deployments_registered(sleuth) == ["api"]
            # The same push again (another delivery): the list from the
            # cache; api is sent again (Sleuth's ignore_if_duplicate
            # decides), web is skipped again.
            pushed(bs, redis, body)
            assert deployments_registered(sleuth) == ["api", "api"], deployments_registered(sleuth)
            assert len(diffstats(bb)) == 1, [r.path for r in diffstats(bb)]
            assert H.metric(bs, PF, outcome="skipped") == 2
            assert H.metric(bs, PF, outcome="matched") == 2
            no_lanes_left(redis)
        finally:
            H.shutdown(redis, sleuth, bs)


def test_data_center_changes_between_the_two_commits():
    with FakeBitbucket(require_auth=("bearer", TOKEN), max_page=1) as bb:
        base = bb.linear(DC_REPO, 1, branch="master")
        new = bb.linear(DC_REPO, 2, parent=base[-1], branch="master",
                        files=lambda i: ["services/api/v%d.go" % i])
        redis, sleuth, bs = start(bb)
        try:
            pushed(bs, redis, dc_push(bb, base[-1], new[-1], new), event="repo:refs_changed", dc=True)
            assert deployments_registered(sleuth) == ["dcapi"], deployments_registered(sleuth)
            changes = [r for r in bb.requests if r.path.endswith("/changes")]
            assert changes and changes[0].path == "/rest/api/1.0/projects/DCP/repos/mono/changes", changes
            assert changes[0].query["since"] == [base[-1]] and changes[0].query["until"] == [new[-1]]
            assert [r.query["start"] for r in changes] == [["0"], ["1"]], [r.query for r in changes]
            assert H.metric(bs, PF, outcome="skipped") == 1
            assert redis.cmd("EXISTS", "{bstest}:files:dc:dcp/mono:%s:%s" % (base[-1], new[-1])) == 1
            no_lanes_left(redis)
        finally:
            H.shutdown(redis, sleuth, bs)


def test_without_credentials_both_are_registered():
    with FakeBitbucket() as bb:
        base = bb.linear(REPO, 1, branch="main")
        new = bb.linear(REPO, 1, parent=base[-1], branch="main", files=["services/web/x.js"])
        redis, sleuth, bs = start(bb, token=False)
        try:
            pushed(bs, redis, cloud_push(bb, base[-1], new[-1], new))
            assert sorted(deployments_registered(sleuth)) == ["api", "web"]
            assert bb.requests == [], bb.requests
            assert H.metric(bs, PF, outcome="unknown") == 2
            assert H.metric(bs, PF, outcome="skipped") == 0
            assert "no Bitbucket API credentials for cloud" in bs.log()
        finally:
            H.shutdown(redis, sleuth, bs)


def test_an_api_outage_registers_both_within_max_wait():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = bb.linear(REPO, 1, branch="main")
        new = bb.linear(REPO, 1, parent=base[-1], branch="main", files=["services/web/x.js"])
        redis, sleuth, bs = start(bb, max_wait="2s")
        try:
            bb.outage(True)
            pushed(bs, redis, cloud_push(bb, base[-1], new[-1], new))
            assert sorted(deployments_registered(sleuth)) == ["api", "web"]
            assert diffstats(bb), "the API was asked"
            assert H.metric(bs, PF, outcome="unknown") == 2
            # A failed lookup is not cached: once the API is back, it is asked.
            bb.outage(False)
            assert redis.cmd("KEYS", "{bstest}:files:*") == []
            no_lanes_left(redis)
        finally:
            H.shutdown(redis, sleuth, bs)


def test_a_second_signal_during_the_lookup_leaves_the_push_pending():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = bb.linear(REPO, 1, branch="main")
        new = bb.linear(REPO, 1, parent=base[-1], branch="main", files=["services/web/x.js"])
        redis, sleuth, bs = start(bb)
        try:
            bb.page_delay(30)
            st, _, raw, _ = bs.post("repo:push", cloud_push(bb, base[-1], new[-1], new))
            assert st == 202, raw
            H.wait_for(lambda: diffstats(bb), 15, what="the lookup under way")
            bs.signal(signal.SIGTERM)
            time.sleep(0.3)
            bs.signal(signal.SIGTERM)      # stops at once: the lookup is cut off
            bs.proc.wait(timeout=20)
            assert sleuth.requests == [], sleuth.requests
            # Neither target was decided: the entry stays for the next worker.
            assert redis.cmd("XPENDING", "{bstest}:jobs", "workers")[0] == 1
            assert redis.cmd("KEYS", "{bstest}:files:*") == []
            assert "touches no file" not in bs.log() and "registered as if" not in bs.log()
        finally:
            bb.page_delay(0)
            H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
