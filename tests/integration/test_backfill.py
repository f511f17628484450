#!/usr/bin/env python3
"""Issue 12 through the real binary: every commit and every issue key of a
deploy, exactly. A real redis-server, a loopback Sleuth stand-in and a
loopback server playing Bitbucket's REST API in both products' shapes
(bb_api.py, commit objects built from the real fixtures), with 429s,
outages and slow pages programmed per test.

  - a truncated 40-commit Cloud push -> all 40 commits and all 40 keys
  - a force push and a new branch -> only the commits of this deploy
  - a Data Center push without a list, or with the 5-commit cap, is
    backfilled through since/until
  - a 429 storm delays but does not lose the deploy
  - an API outage -> a deploy without commits within backfill.max_wait
  - a retry of a backfilled deploy does not ask the API again (the cache)
  - a Cloud merge -> a 40-character sha, from the API, and without
    credentials once the push of the merge commit arrives
  - a push and a merge deployment on one target register a commit once
  - without credentials an unproven list is left out, never ancestors
  - the stop-list keeps UTF-8 / SHA-256 / ISO-8601 out
"""
import copy
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from bb_api import FakeBitbucket  # noqa: E402

REPO = "acme/shop"
DC_REPO = "ACME/shop"
PUSH_TPL = "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-16-123921.json"
DC_TPL = "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_update_with-commits.json"
MERGE_TPL = "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-fulfilled.json"
TOKEN = "bb-test-token"

DEPLOYMENTS = [
    {"org": "acme", "deployment": "shop", "repository": REPO, "branch": "main"},
    {"org": "acme", "deployment": "shop", "repository": REPO, "branch": "main", "track": "merge"},
    {"org": "acme", "deployment": "preview", "repository": REPO, "branch": "feature/*"},
    {"org": "acme", "deployment": "dcshop", "repository": DC_REPO, "branch": "master"},
]


def start(bb, token=True, max_wait="20s", extra_api=""):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    cfg = H.make_config(redis.port, sleuth.url, DEPLOYMENTS,
                        extra="  url: https://jira.example/browse/{key}\n"
                              "backfill:\n  max_wait: %s\n" % max_wait)
    api = ("  api:\n    cloud_url: %s\n    server_url: %s\n" % (bb.url, bb.url)
           + ("    token_env: BS_IT_BB_TOKEN\n" if token else "") + extra_api)
    cfg = cfg.replace("  secret_env: BS_IT_SECRET\n", "  secret_env: BS_IT_SECRET\n" + api, 1)
    bs = H.Bitsleuth(cfg, env_extra={"BS_IT_BB_TOKEN": TOKEN})
    return redis, sleuth, bs


def commit_json(bb, repo, h):
    r = bb._repo(repo)
    return bb._cloud_commit(r, r.commits[h])


def cloud_push(bb, branch, old, new, listed, truncated=False, forced=False, created=False):
    """A real Cloud repo:push with one change, its commits from the graph."""
    p = json.loads(H.read_fixture(PUSH_TPL))
    p["repository"]["full_name"] = REPO
    ch = copy.deepcopy(p["push"]["changes"][0])
    ch["new"]["name"] = branch
    ch["new"]["target"] = commit_json(bb, REPO, new)
    if created:
        ch["old"] = None
    else:
        ch["old"]["name"] = branch
        ch["old"]["target"] = {"type": "commit", "hash": old}
    ch["created"], ch["forced"], ch["closed"], ch["truncated"] = created, forced, False, truncated
    ch["commits"] = [commit_json(bb, REPO, h) for h in listed]
    p["push"]["changes"] = [ch]
    return json.dumps(p).encode()


def dc_push(bb, old, new, listed):
    p = json.loads(H.read_fixture(DC_TPL))
    p["repository"]["slug"] = "shop"
    p["repository"]["project"]["key"] = "ACME"
    ch = p["changes"][0]
    ch["fromHash"], ch["toHash"] = old, new
    ch["ref"].update(id="refs/heads/master", displayId="master", type="BRANCH")
    ch["refId"], ch["type"] = "refs/heads/master", "UPDATE"
    r = bb._repo(REPO)
    p["toCommit"] = bb._dc_commit(r.commits[new])
    if listed is None:
        p.pop("commits", None)
    else:
        p["commits"] = [bb._dc_commit(r.commits[h]) for h in listed]
    return json.dumps(p).encode()


def dc_post(bs, body):
    return bs.post("repo:refs_changed", body, headers={"X-Request-Id": "dc-%f" % time.time()},
                   delivery=False)


def registered(sleuth, n, what, timeout=30):
    H.wait_for(lambda: len(sleuth.answered(200)) >= n, timeout, what=what)
    return sleuth.answered(200)[n - 1]["json"]


def revisions(b):
    return [c["revision"] for c in b.get("commits", [])]


def metric(bs, name):
    st, _, raw, _ = bs.get("/metrics")
    for line in raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def new_main(bb, n_base=3):
    """main with n_base commits; returns the hashes oldest..newest."""
    return bb.linear(REPO, n_base, branch="main", key_prefix="BASE")


def test_truncated_push_gets_all_40_commits_and_keys():
    with FakeBitbucket(require_auth=("bearer", TOKEN), max_page=15) as bb:
        base = new_main(bb)
        new = bb.linear(REPO, 40, parent=base[-1], branch="main")
        redis, sleuth, bs = start(bb)
        try:
            st, js, raw, _ = bs.post("repo:push", cloud_push(bb, "main", base[-1], new[-1],
                                                             list(reversed(new))[:5], truncated=True))
            assert st == 202, raw
            b = registered(sleuth, 1, "the truncated push")
            assert b["sha"] == new[-1]
            assert revisions(b) == list(reversed(new)), (len(revisions(b)), b.get("commits"))
            keys = sorted(k for k in b["links"] if k != "Bitbucket")
            assert len(keys) == 40, keys
            assert all(k.startswith("SHOP-") for k in keys), keys
            assert all(b["links"][k] == "https://jira.example/browse/" + k for k in keys)
            # three pages of 15, each with the token, include/exclude as Sleuth counts
            pages = [r for r in bb.requests if r.path.endswith("/commits")]
            assert len(pages) == 3, [r.query for r in pages]
            assert pages[0].query["include"] == [new[-1]] and pages[0].query["exclude"] == [base[-1]]
            assert all(r.headers["authorization"] == "Bearer " + TOKEN for r in bb.requests)
            assert metric(bs, 'bitsleuth_backfill_total{outcome="done"}') == 1
            assert metric(bs, "bitsleuth_api_budget_remaining") is not None
            # recorded in the step that finishes the job, after Sleuth answered
            H.wait_for(lambda: redis.cmd("HGET", "{bstest}:deployed", "acme/shop/production") ==
                       (new[-1] + " push").encode(), 10, what="the registration recorded")
            # `stats` shows it for every worker: the durable counter and
            # the budget left (burst 20, 3 pages taken).
            H.wait_for(lambda: redis.cmd("HGET", "{bstest}:stats", "backfill_done") == b"1", 5,
                       what="the durable counter")
            rc = subprocess.run([H.BIN, "stats", "--json", "-c", bs.config], env=bs.env,
                                capture_output=True, timeout=60)
            assert rc.returncode == 0, rc.stderr
            st = json.loads(rc.stdout)
            assert st["counters"]["backfill_done"] == 1, st
            (left,) = [v["remaining"] for v in st["api_budget"].values()]
            assert 17 <= left <= 20, st["api_budget"]
            rc = subprocess.run([H.BIN, "stats", "-c", bs.config], env=bs.env, capture_output=True,
                                timeout=60)
            assert b"api budget" in rc.stdout and b"requests left" in rc.stdout, rc.stdout
        finally:
            H.shutdown(redis, sleuth, bs)


def test_force_push_and_new_branch_send_only_their_commits():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = new_main(bb)
        first = bb.linear(REPO, 2, parent=base[-1], branch="main")
        redis, sleuth, bs = start(bb)
        try:
            # A fast-forward from nothing known: the commits of this push.
            bs.post("repo:push", cloud_push(bb, "main", base[-1], first[-1], list(reversed(first))))
            b = registered(sleuth, 1, "first push")
            assert revisions(b) == list(reversed(first)), b.get("commits")
            # The next fast-forward from the last registered sha: the
            # payload's list is exact, no API call.
            calls = len(bb.requests)
            nxt = bb.linear(REPO, 2, parent=first[-1], branch="main")
            bs.post("repo:push", cloud_push(bb, "main", first[-1], nxt[-1], list(reversed(nxt))))
            b = registered(sleuth, 2, "fast-forward")
            assert revisions(b) == list(reversed(nxt))
            assert len(bb.requests) == calls, "an exact payload list needs no API call"
            # A force push rewriting the last two commits onto first[-1]:
            # the payload lists ancestors down to the root (as zulip's
            # force_push.json does); only the two new ones are this deploy's.
            rewritten = bb.linear(REPO, 2, parent=first[-1], branch="main")
            ancestors = list(reversed(base + first + rewritten))[:5]
            bs.post("repo:push", cloud_push(bb, "main", nxt[-1], rewritten[-1], ancestors, forced=True))
            b = registered(sleuth, 3, "force push")
            assert revisions(b) == list(reversed(rewritten)), revisions(b)
            q = [r for r in bb.requests if r.path.endswith("/commits")][-1].query
            assert q["exclude"] == [nxt[-1]] and q["include"] == [rewritten[-1]], q
            # A new branch off main with 2 commits of its own, listed with
            # 3 of main's: only its own 2 (its target's first deploy).
            feat = bb.linear(REPO, 2, parent=rewritten[-1], branch="feature/x")
            listed = list(reversed(base + first + rewritten + feat))[:5]
            bs.post("repo:push", cloud_push(bb, "feature/x", None, feat[-1], listed, created=True))
            b = registered(sleuth, 4, "new branch")
            assert b["sha"] == feat[-1] and b["branch"] == "feature/x"
            assert revisions(b) == list(reversed(feat)), revisions(b)
            q = [r for r in bb.requests if r.path.endswith("/commits")][-1].query
            assert q["exclude"] == ["main"], q
        finally:
            H.shutdown(redis, sleuth, bs)


def test_data_center_push_is_backfilled_through_since_until():
    with FakeBitbucket(require_auth=("bearer", TOKEN), max_page=4) as bb:
        base = bb.linear(REPO, 2, branch="master", key_prefix="BASE")
        new = bb.linear(REPO, 9, parent=base[-1], branch="master")
        redis, sleuth, bs = start(bb)
        try:
            # An older Data Center: no commit list at all.
            st, js, raw, _ = dc_post(bs, dc_push(bb, base[-1], new[-1], None))
            assert st == 202, raw
            b = registered(sleuth, 1, "DC push without a list")
            assert b["sha"] == new[-1]
            assert revisions(b) == list(reversed(new)), revisions(b)
            assert len([k for k in b["links"] if k.startswith("SHOP-")]) == 9
            pages = [r for r in bb.requests if "/rest/api/1.0/projects/ACME/repos/shop/commits" in r.path]
            assert len(pages) == 3, [r.query for r in pages]          # 4 + 4 + 1
            assert pages[0].query["since"] == [base[-1]] and pages[0].query["until"] == [new[-1]]
            assert [r.query["start"] for r in pages] == [["0"], ["4"], ["8"]]
            # A newer one, capped at 5: backfilled from the last registered sha.
            more = bb.linear(REPO, 7, parent=new[-1], branch="master")
            dc_post(bs, dc_push(bb, new[-1], more[-1], list(reversed(more))[:5]))
            b = registered(sleuth, 2, "DC push with the 5-commit cap")
            assert revisions(b) == list(reversed(more)), revisions(b)
            assert b["links"]["Bitbucket"].endswith("/commits/" + more[-1]), b["links"]
        finally:
            H.shutdown(redis, sleuth, bs)


def test_429_storm_delays_but_does_not_lose_the_deploy():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = new_main(bb)
        new = bb.linear(REPO, 8, parent=base[-1], branch="main")
        redis, sleuth, bs = start(bb)
        try:
            bb.fail_next(3, status=429, retry_after=1)
            t0 = time.time()
            bs.post("repo:push", cloud_push(bb, "main", base[-1], new[-1], list(reversed(new))[:5],
                                            truncated=True))
            b = registered(sleuth, 1, "the throttled push")
            waited = time.time() - t0
            assert revisions(b) == list(reversed(new))
            assert waited >= 2.5, waited            # three Retry-After pauses of 1 s
            assert metric(bs, 'bitsleuth_bitbucket_api_requests_total{outcome="throttled"}') == 3
            assert metric(bs, 'bitsleuth_backfill_total{outcome="fallback"}') == 0
            # Every worker honours the pause: it is in Redis.
            assert redis.cmd("KEYS", "{bstest}:apibudget:*")
        finally:
            H.shutdown(redis, sleuth, bs)


def test_api_outage_registers_without_commits_within_max_wait():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = new_main(bb)
        new = bb.linear(REPO, 7, parent=base[-1], branch="main")
        redis, sleuth, bs = start(bb, max_wait="3s")
        try:
            bb.outage(True)
            t0 = time.time()
            bs.post("repo:push", cloud_push(bb, "main", base[-1], new[-1], list(reversed(new))[:5],
                                            truncated=True))
            b = registered(sleuth, 1, "the push during the outage", timeout=20)
            took = time.time() - t0
            assert "commits" not in b, b
            assert b["sha"] == new[-1]
            assert took < 3 + 10, took          # within max_wait (3 s), with room for a slow machine
            assert metric(bs, 'bitsleuth_backfill_total{outcome="fallback"}') == 1
            assert metric(bs, 'bitsleuth_backfill_total{outcome="failed"}') >= 1
            assert "registering without commits" in bs.log()
            # Connections closed without an answer: the same.
            bb.outage(True, mode="close")
            more = bb.linear(REPO, 6, parent=new[-1], branch="main")
            bs.post("repo:push", cloud_push(bb, "main", new[-1], more[-1], list(reversed(more))[:5],
                                            truncated=True))
            b = registered(sleuth, 2, "the push while connections are cut", timeout=20)
            assert "commits" not in b and b["sha"] == more[-1]
        finally:
            bb.outage(False)
            H.shutdown(redis, sleuth, bs)


def test_a_retry_uses_the_cache_not_the_api():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = new_main(bb)
        new = bb.linear(REPO, 6, parent=base[-1], branch="main")
        redis, sleuth, bs = start(bb)
        answers = [503]
        sleuth.responder = lambda req: (answers.pop(0), "busy", {}) if answers else (200, "Success", {})
        try:
            bs.post("repo:push", cloud_push(bb, "main", base[-1], new[-1], list(reversed(new))[:5],
                                            truncated=True))
            H.wait_for(lambda: len(sleuth.requests) >= 1, 20, what="first attempt")
            calls = bb.count("/commits")
            redis.cmd("ZADD", "{bstest}:retry", "0", redis.cmd("ZRANGE", "{bstest}:retry", 0, 0)[0])
            b = registered(sleuth, 1, "the retry", timeout=30)
            assert revisions(b) == list(reversed(new))
            assert sleuth.requests[0]["json"] == b, "the retry sends the same body"
            assert bb.count("/commits") == calls, "a retry must not fetch again"
            assert metric(bs, 'bitsleuth_backfill_total{outcome="cached"}') == 1
        finally:
            H.shutdown(redis, sleuth, bs)


def merge_event(short, pr_id=42):
    p = json.loads(H.read_fixture(MERGE_TPL))
    p["repository"]["full_name"] = REPO
    pr = p["pullrequest"]
    pr["id"] = pr_id
    pr["destination"]["branch"]["name"] = "main"
    pr["destination"]["repository"]["full_name"] = REPO
    pr["merge_commit"] = {"type": "commit", "hash": short}
    pr["state"] = "MERGED"
    return json.dumps(p).encode()


def test_cloud_merge_gets_the_full_sha_from_the_api():
    with FakeBitbucket(require_auth=("bearer", TOKEN)) as bb:
        base = new_main(bb)
        merge = bb.add_commit(REPO, None, [base[-1], base[-2]], "Merged in feature/y (pull request #42)",
                              author_raw="Mia Merger <mia@example.com>")
        bb.set_branch(REPO, "main", merge)
        redis, sleuth, bs = start(bb)
        try:
            st, js, raw, _ = bs.post("pullrequest:fulfilled", merge_event(merge[:12]))
            assert st == 202, raw
            b = registered(sleuth, 1, "the merge")
            assert b["sha"] == merge, b["sha"]
            assert b["email"] == "mia@example.com", b
            assert bb.count("/commit/" + merge[:12]) == 1
            assert metric(bs, 'bitsleuth_merge_hashes_total{outcome="resolved"}') == 1
            # The push of that merge commit, to the same target: not again.
            bs.post("repo:push", cloud_push(bb, "main", base[-1], merge, [merge]))
            H.wait_for(lambda: H.total(H.metrics(bs), "bitsleuth_deploys_total", outcome="same_sha") == 1, 20,
                       what="the push of the merged commit recognised")
            time.sleep(0.5)
            assert len(sleuth.requests) == 1, [r["json"]["sha"] for r in sleuth.requests]
            H.wait_for(lambda: H.settled(redis), 10, what="settled")
        finally:
            H.shutdown(redis, sleuth, bs)


def test_cloud_merge_without_credentials_waits_for_the_merge_push():
    with FakeBitbucket() as bb:
        base = new_main(bb)
        merge = bb.add_commit(REPO, None, [base[-1], base[-2]], "Merged in feature/z (pull request #43)",
                              author_raw="Max Merger <max@example.com>")
        redis, sleuth, bs = start(bb, token=False)
        try:
            # The merge first: its task waits for the push's note.
            bs.post("pullrequest:fulfilled", merge_event(merge[:12], 43))
            time.sleep(1.5)
            assert not sleuth.requests, "sent with the short sha before max_wait"
            # The push to the preview target (another target) leaves the note.
            feat = cloud_push(bb, "feature/z", base[-1], merge, [merge])
            bs.post("repo:push", feat)
            H.wait_for(lambda: any(r["json"]["sha"] == merge and "shop" in r["path"]
                                   for r in sleuth.requests), 20, what="the merge with its full sha")
            b = [r["json"] for r in sleuth.requests if "/shop/" in r["path"]][0]
            assert b["sha"] == merge and b["email"] == "max@example.com", b
            assert bb.requests == [], "no credentials: the API is never called"
            assert metric(bs, 'bitsleuth_merge_hashes_total{outcome="short"}') == 0
        finally:
            H.shutdown(redis, sleuth, bs)


def test_cloud_merge_goes_short_after_max_wait_counted():
    with FakeBitbucket() as bb:
        redis, sleuth, bs = start(bb, token=False, max_wait="2s")
        try:
            t0 = time.time()
            bs.post("pullrequest:fulfilled", merge_event("abcdef012345", 44))
            b = registered(sleuth, 1, "the short merge", timeout=15)
            assert b["sha"] == "abcdef012345"
            assert time.time() - t0 >= 1.5
            assert metric(bs, 'bitsleuth_merge_hashes_total{outcome="short"}') == 1
            assert "short sha" in bs.log()
        finally:
            H.shutdown(redis, sleuth, bs)


def test_without_credentials_unproven_lists_are_left_out():
    with FakeBitbucket() as bb:
        base = new_main(bb)
        first = bb.linear(REPO, 2, parent=base[-1], branch="main")
        redis, sleuth, bs = start(bb, token=False)
        try:
            bs.post("repo:push", cloud_push(bb, "main", base[-1], first[-1], list(reversed(first))))
            b = registered(sleuth, 1, "first deploy")
            assert "commits" not in b, "the target's first deploy: not provable"
            nxt = bb.linear(REPO, 2, parent=first[-1], branch="main")
            bs.post("repo:push", cloud_push(bb, "main", first[-1], nxt[-1], list(reversed(nxt))))
            b = registered(sleuth, 2, "fast-forward from the last registered")
            assert revisions(b) == list(reversed(nxt)), "exact: the payload's list"
            forced = bb.linear(REPO, 1, parent=base[-1], branch="main")
            bs.post("repo:push", cloud_push(bb, "main", nxt[-1], forced[-1],
                                            list(reversed(base + forced)), forced=True))
            b = registered(sleuth, 3, "force push")
            assert "commits" not in b, "ancestors are never sent"
            assert metric(bs, 'bitsleuth_backfill_total{outcome="omitted"}') == 2
            assert bb.requests == []
        finally:
            H.shutdown(redis, sleuth, bs)


def test_stop_list_keeps_technical_tokens_out():
    with FakeBitbucket() as bb:
        base = new_main(bb)
        c = bb.add_commit(REPO, None, [base[-1]], "SHOP-9: read files as UTF-8, hash with SHA-256, "
                          "dates in ISO-8601 (RFC-3339)")
        redis, sleuth, bs = start(bb, token=False)
        try:
            st, js, raw, _ = bs.post("repo:push", cloud_push(bb, "main", base[-1], c, [c]))
            assert st == 202, raw
            assert js["issues"] == ["SHOP-9"], js
            b = registered(sleuth, 1, "the push")
            assert sorted(k for k in b["links"] if k != "Bitbucket") == ["SHOP-9"], b["links"]
        finally:
            H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
