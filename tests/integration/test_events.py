"""Every event of both products through the real binary, checked against
references computed in Python from the payloads themselves: Data Center
pushes, tags and merges, Cloud merges, the issue keys a remembered PR lends
to the push that deploys its merge, and the answer to every fixture.

Deliveries that deploy are posted one at a time and the queue is drained in
between, so each fixture's registrations can be told apart (and a push is
never "superseded" by a later one that overtook it)."""
import datetime
import fnmatch
import hashlib
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

PREFIX = "bstest"
ZERO = "0" * 40


def key(name):
    return "{%s}:%s" % (PREFIX, name)


def config(redis_port, sleuth_url, deployments, extra=""):
    """harness.make_config plus issue_tags (and no branch for tag tracks)."""
    text = H.make_config(redis_port, sleuth_url, [], prefix=PREFIX, extra=extra)
    lines = [text.rstrip("\n")]
    for d in deployments:
        lines.append("  - org: %s" % d["org"])
        lines.append("    deployment: %s" % d["deployment"])
        lines.append("    repository: %s" % json.dumps(d["repository"]))
        if "branch" in d:
            b = d["branch"]
            lines.append("    branch: %s" % (json.dumps(b) if isinstance(b, str) else
                                             "[%s]" % ", ".join(json.dumps(x) for x in b)))
        lines.append("    environment: %s" % d.get("environment", "production"))
        for k in ("track", "tag_pattern"):
            if k in d:
                lines.append("    %s: %s" % (k, json.dumps(d[k])))
        if d.get("issue_tags"):
            lines.append("    issue_tags: true")
    return "\n".join(lines) + "\n"


def start(deployments, extra=""):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(config(redis.port, sleuth.url, deployments, extra=extra))
    return redis, sleuth, bs


def dc_post(bs, ev, body):
    """As Data Center sends it: X-Request-Id, no X-Request-UUID, signed."""
    rid = hashlib.md5(body + str(time.time()).encode()).hexdigest()
    return bs.post(ev, body, headers={"X-Request-Id": rid}, delivery=False)


def drain(redis, sleuth, want_total, what):
    """Waits until every queued job is finished and the stand-in holds
    want_total requests."""
    H.wait_for(lambda: H.settled(redis, PREFIX), 60, interval=0.02,
               what="%s: every job finished (stream, retry set, pending)" % what)
    H.wait_for(lambda: len(sleuth.requests) >= want_total, 5, interval=0.02,
               what="%s: %d registrations" % (what, want_total))


def path_of(d):
    return "/api/1/deployments/%s/%s/register_deploy" % (d["org"], d["deployment"])


def branch_hit(d, name):
    """None: no match; else True when matched by a glob (branch is sent)."""
    bs = d["branch"] if isinstance(d["branch"], list) else [d["branch"]]
    for b in bs:
        glob = any(ch in b for ch in "*?[")
        if (glob and fnmatch.fnmatchcase(name, b)) or (not glob and b == name):
            return glob
    return None


def call(d, sha, branch=None, commits=None):
    return {"path": path_of(d), "sha": sha, "environment": d.get("environment", "production"),
            "branch": branch, "commits": commits}


def as_call(req):
    b = req["json"]
    return {"path": req["path"], "sha": b["sha"], "environment": b.get("environment"),
            "branch": b.get("branch"),
            "commits": [c["revision"] for c in b["commits"]] if "commits" in b else None}


def canon(calls):
    return sorted(json.dumps(c, sort_keys=True) for c in calls)


def check_bodies(reqs):
    for r in reqs:
        b = r["json"]
        assert r["headers"]["authorization"] == "Bearer " + H.TOKEN, r["headers"]
        assert b["ignore_if_duplicate"] == "true", b
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", b["date"]), b


# ---------------------------------------------------------------- 1. Data Center

DC_DEPLOYMENTS = [
    {"org": "dc", "deployment": "my-repo", "repository": "PRJ/my-repo", "branch": "master"},
    {"org": "dc", "deployment": "my-repo", "repository": "prj/MY-REPO", "branch": "develop",
     "environment": "dev"},
    {"org": "dc", "deployment": "my-repo-tags", "repository": "PRJ/my-repo", "track": "tag",
     "tag_pattern": "v*"},
    {"org": "dc", "deployment": "my-repo-merge", "repository": "PRJ/my-repo", "branch": "master",
     "track": "merge"},
    {"org": "dc", "deployment": "tftest", "repository": "ISCLOUD/transamerica.cloud.individual.tftest",
     "branch": "trangineni/*"},
    {"org": "dc", "deployment": "nova", "repository": "TSG/nova-ui", "branch": "idpdocs"},
    {"org": "dc", "deployment": "engine", "repository": "PENGINE/product-engine",
     "branch": ["main", "develop"]},
    {"org": "dc", "deployment": "test-repos", "repository": "amuniz/test-repos", "branch": "main"},
    {"org": "dc", "deployment": "test-repos", "repository": "AMUNIZ/test-repos", "branch": "feature/*",
     "environment": "staging"},
    {"org": "dc", "deployment": "test-repos-tags", "repository": "AMUNIZ/test-repos", "track": "tag",
     "tag_pattern": "*"},
    {"org": "dc", "deployment": "test-repos-merge", "repository": "AMUNIZ/test-repos",
     "branch": "master", "track": "merge"},
    {"org": "dc", "deployment": "never", "repository": "PRJ/other", "branch": "master"},
    {"org": "dc", "deployment": "never", "repository": "PRJ/my-repo", "branch": "nope",
     "environment": "nope"},
]


def dc_repo(r):
    return "%s/%s" % (r["project"]["key"], r["slug"])


def dc_utc(d):
    """A DC date (epoch ms before 10.x, ISO-8601 with an offset from 10.x)
    as bitsleuth sends it: UTC with milliseconds."""
    if isinstance(d, (int, float)):
        t = datetime.datetime.fromtimestamp(d / 1000, datetime.timezone.utc)
        ms = int(d) % 1000
    else:
        t = datetime.datetime.fromisoformat(d).astimezone(datetime.timezone.utc)
        ms = t.microsecond // 1000
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % ms


def dc_exact(listed, sha, old):
    """The payload's list is exactly old..sha (deploy/commit_plan.c's rule,
    written again): headed by sha, old not listed, closed under parents."""
    if not listed or not old or listed[0]["id"] != sha:
        return False
    ids = {x["id"] for x in listed}
    if old in ids:
        return False
    reaches = False
    for x in listed:
        parents = [q["id"] for q in x.get("parents") or []]
        if not parents:
            return False
        for q in parents:
            if q == old:
                reaches = True
            elif q not in ids:
                return False
    return reaches


def dc_expected(ev, p, last_of=None):
    """The register_deploy calls one DC payload must cause, from the payload
    alone; also its content identity (None when it queues nothing), which
    holds the event's date: the same event from two webhooks has one date,
    a repeat push a new one. last_of: target -> (sha, track) registered
    last, which decides whether the payload's list is sent (issue 12: only
    when provably the commits since then; no API credentials here) and
    whether a merge of an already pushed commit is sent at all."""
    last_of = {} if last_of is None else last_of
    calls = []
    date = dc_utc(p["date"]) if p.get("date") is not None else None
    if ev in ("repo:refs_changed", "mirror:repo_synchronized"):
        repo = dc_repo(p["repository"])
        changes = p.get("changes") or []
        ident = json.dumps([ev, repo.lower(), date] + [[c["ref"]["type"], c["ref"]["displayId"],
                                                 c.get("fromHash"), c.get("toHash")] for c in changes])
        listed = p.get("commits")
        for c in changes:
            if c["type"] == "DELETE" or c.get("toHash") in (None, ZERO):
                continue
            sha = (p.get("toCommit") or {}).get("id") or c["toHash"]
            name = c["ref"]["displayId"]
            for d in DC_DEPLOYMENTS:
                if d["repository"].lower() != repo.lower():
                    continue
                track = d.get("track", "push")
                last = last_of.get((path_of(d), d.get("environment", "production")))
                if last and last[0] == sha and last[1] != track:
                    continue   # the other track registered this commit already
                commits = None
                if (listed and len(listed) < 5 and c["type"] == "UPDATE" and last
                        and last[0] == c.get("fromHash") and dc_exact(listed, sha, c.get("fromHash"))):
                    commits = [x["id"] for x in listed]
                if c["ref"]["type"] == "BRANCH" and track == "push":
                    hit = branch_hit(d, name)
                    if hit is not None:
                        calls.append(call(d, sha, name if hit else None, commits))
                elif c["ref"]["type"] == "TAG" and track == "tag":
                    if fnmatch.fnmatchcase(name, d.get("tag_pattern", "*")):
                        calls.append(call(d, sha, None, commits))
        return calls, (ident if changes else None)
    if ev.startswith("pr:"):
        pr = p["pullRequest"]
        merge = ((pr.get("properties") or {}).get("mergeCommit") or {}).get("id")
        repo = dc_repo(pr["toRef"]["repository"])
        ident = json.dumps([ev, repo.lower(), date, pr["id"], pr.get("state"), merge])
        if ev == "pr:merged" and merge:
            for d in DC_DEPLOYMENTS:
                if d.get("track") == "merge" and d["repository"].lower() == repo.lower():
                    hit = branch_hit(d, pr["toRef"]["displayId"])
                    last = last_of.get((path_of(d), d.get("environment", "production")))
                    if last and last[0] == merge and last[1] != "merge":
                        continue
                    if hit is not None:
                        calls.append(call(d, merge, pr["toRef"]["displayId"] if hit else None))
        return calls, ident
    return [], None


def test_every_dc_fixture_registers_what_the_payload_says():
    redis, sleuth, bs = start(DC_DEPLOYMENTS)
    try:
        seen = set()
        total = 0
        deployed = 0
        last_of = {}
        track_of = {path_of(d): d.get("track", "push") for d in DC_DEPLOYMENTS}
        for path, ev, _ in H.fixtures(product="dc"):
            body = H.read_fixture(path)
            p = json.loads(body)
            want, ident = dc_expected(ev, p, last_of)
            before = len(sleuth.requests)
            st, js, raw, _ = dc_post(bs, ev, body)
            assert js is not None, (path, raw)
            if ev == "diagnostics:ping":
                assert st == 200 and js["status"] == "ok", (path, st, js)
                continue
            if js["status"] == "duplicate":
                # Same content and date as an earlier fixture (e.g. epoch
                # vs ISO dates of one PR, a signed copy of a delete): the
                # same event sent twice, nothing new.
                assert st == 200 and ident in seen, (path, js)
                want = []
            elif js["status"] == "ignored":
                assert st == 202 and ident is None and not want, (path, js)
                assert ("refLimitExceeded" in js["reason"]) == (p.get("refLimitExceeded") is True), (path, js)
            else:
                assert st == 202 and js["status"] == "queued", (path, st, js)
                assert not (ev in ("repo:refs_changed", "mirror:repo_synchronized") and ident in seen), \
                    ("a push with known content must be a duplicate", path)
            seen.add(ident)
            drain(redis, sleuth, before + len(want), path)
            time.sleep(0.05)
            got = sleuth.requests[before:]
            assert canon([as_call(r) for r in got]) == canon(want), (path, [as_call(r) for r in got], want)
            check_bodies(got)
            for w in want:
                last_of[(w["path"], w["environment"])] = (w["sha"], track_of.get(w["path"], "push"))
            for r in got:   # the push time is Data Center's own event date, in UTC
                assert r["json"]["date"] == dc_utc(p["date"]), (path, r["json"]["date"], p["date"])
            total += len(want)
            deployed += 1 if want else 0
        assert len(sleuth.requests) == total
        # The fixtures exercise every kind: branch (exact, glob, list),
        # tag, annotated tag, merge. None of these first deploys can prove
        # its payload list without the API (issue 12), so none sends one;
        # tests/integration/test_backfill.py covers the lists.
        kinds = {(r["path"].split("/")[5], "commits" in r["json"], "branch" in r["json"])
                 for r in sleuth.requests}
        assert ("my-repo-merge", False, False) in kinds, kinds
        assert ("test-repos-tags", False, False) in kinds, kinds
        assert ("my-repo-tags", False, False) in kinds, kinds
        assert ("tftest", False, True) in kinds, kinds
        assert ("test-repos", False, True) in kinds, kinds
        assert ("engine", False, False) in kinds, kinds
        assert not any("/never/" in r["path"] for r in sleuth.requests)
        annotated = H.read_fixture("jenkinsci-bitbucket-branch-source-plugin/"
                                   "dc_repo-refs_changed_annotated-tag-add.json")
        a = json.loads(annotated)
        assert a["toCommit"]["id"] != a["changes"][0]["toHash"]
        assert any(r["json"]["sha"] == a["toCommit"]["id"] for r in sleuth.requests)
        assert not any(r["json"]["sha"] == a["changes"][0]["toHash"] for r in sleuth.requests)
        assert total >= 10 and deployed >= 9, (total, deployed)
        st, _, metrics, _ = bs.get("/metrics")
        assert H.total(H.parse_metrics(metrics), "bitsleuth_deliveries_total", product="dc",
                       outcome="ref_limit") == 1, metrics
        assert redis.cmd("XLEN", key("dead")) == 0
        assert redis.cmd("ZCARD", key("retry")) == 0
    finally:
        H.shutdown(redis, sleuth, bs)


# ---------------------------------------------------------------- 2. Cloud merges

CLOUD_MERGE_DEPLOYMENTS = [
    {"org": "cl", "deployment": "foo", "repository": "brydzewski/foo", "branch": "master", "track": "merge"},
    {"org": "cl", "deployment": "temp", "repository": "CloudBeers/temp", "branch": "main", "track": "merge"},
    {"org": "cl", "deployment": "fw", "repository": "arolgroup/j0664-ns2-firmware", "branch": "main",
     "track": "merge"},
    {"org": "cl", "deployment": "fw", "repository": "arolgroup/j0664-ns2-firmware", "branch": "gt/*",
     "track": "merge", "environment": "dev"},
    # a push deployment on the same branch: a PR event never registers it
    {"org": "cl", "deployment": "foo-push", "repository": "brydzewski/foo", "branch": "master"},
]


def test_cloud_merges_register_the_merge_commit():
    redis, sleuth, bs = start(CLOUD_MERGE_DEPLOYMENTS)
    try:
        want = []
        stored = []
        for path, ev, _ in H.fixtures("pullrequest:fulfilled", "cloud"):
            body = H.read_fixture(path)
            p = json.loads(body)
            pr = p["pullrequest"]
            repo = pr["destination"]["repository"]["full_name"]
            dest = pr["destination"]["branch"]["name"]
            sha = pr["merge_commit"]["hash"]
            assert len(sha) == 12
            mine = []
            for d in CLOUD_MERGE_DEPLOYMENTS:
                if d.get("track") != "merge" or d["repository"].lower() != repo.lower():
                    continue
                hit = branch_hit(d, dest)
                if hit is not None:
                    mine.append(call(d, sha, dest if hit else None))
            assert mine, path
            before = len(sleuth.requests)
            st, js, raw, _ = bs.post(ev, body)
            assert st == 202 and js["status"] == "queued", (path, st, raw)
            drain(redis, sleuth, before + len(mine), path)
            want.extend(mine)
            stored.append(("pr:%s:%d" % (repo.lower(), pr["id"]), pr["title"], sha))
        time.sleep(0.3)
        got = sleuth.requests
        assert canon([as_call(r) for r in got]) == canon(want), ([as_call(r) for r in got], want)
        check_bodies(got)
        assert any(r["json"].get("branch") == "gt/develop" for r in got)
        # Each merged PR is remembered too, with its TTL (30 days default).
        for name, title, sha in stored:
            h = redis.cmd("HGETALL", key(name))
            f = dict(zip(h[::2], h[1::2]))
            assert f[b"title"].decode() == title and f[b"merge"].decode() == sha, (name, f)
            assert f[b"state"] == b"MERGED", f
            ttl = redis.cmd("TTL", key(name))
            assert 29 * 86400 < ttl <= 30 * 86400, (name, ttl)
    finally:
        H.shutdown(redis, sleuth, bs)


# ---------------------------------------------------------------- 3. PR keys reach the push

PR_DEPLOYMENTS = [
    {"org": "acme", "deployment": "foo", "repository": "brydzewski/foo", "branch": "master",
     "issue_tags": True},
    {"org": "acme", "deployment": "test-repos", "repository": "AMUNIZ/test-repos", "branch": "main",
     "issue_tags": True},
    {"org": "acme", "deployment": "bar", "repository": "brydzewski/bar", "branch": "master",
     "issue_tags": True},
]
ISSUE_URL = "https://jira.example/browse/{key}"


def wait_pr(redis, name):
    H.wait_for(lambda: redis.cmd("EXISTS", key(name)) == 1, 10, interval=0.02, what="pr %s stored" % name)


def test_pr_keys_reach_the_push_that_merges_it():
    redis, sleuth, bs = start(PR_DEPLOYMENTS, extra='  url: "%s"\n' % ISSUE_URL)
    try:
        # Cloud: a PR is opened (no deploy), later its merge commit is pushed.
        pr = json.loads(H.read_fixture("drone-go-scm/cloud_pullrequest-created.json"))
        pr["pullrequest"]["id"] = 4242
        pr["pullrequest"]["title"] = "SHOP-77 better login"
        st, js, raw, _ = bs.post("pullrequest:created", json.dumps(pr))
        assert st == 202 and js["status"] == "queued", raw
        assert js["issues"] == ["SHOP-77"], js
        wait_pr(redis, "pr:brydzewski/foo:4242")
        h = redis.cmd("HGETALL", key("pr:brydzewski/foo:4242"))
        f = dict(zip(h[::2], h[1::2]))
        assert f[b"keys"] == b"pr_title:SHOP-77\n", f
        assert f[b"branch"] == b"develop" and f[b"state"] == b"OPEN", f
        assert sleuth.requests == [], "an opened PR deploys nothing"

        push = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
        ch = push["push"]["changes"][0]
        assert ch["new"]["name"] == "master"
        ch["commits"][0]["message"] = "Merged in feature/x (pull request #4242)\n\nApproved-by: Jane\n"
        st, js, raw, _ = bs.post("repo:push", json.dumps(push))
        assert st == 202 and js["status"] == "queued", raw
        drain(redis, sleuth, 1, "cloud push")
        b = sleuth.requests[0]["json"]
        assert sleuth.requests[0]["path"] == "/api/1/deployments/acme/foo/register_deploy"
        assert b["sha"] == ch["new"]["target"]["hash"], b
        assert b["links"].get("SHOP-77") == "https://jira.example/browse/SHOP-77", b
        assert "#shop-77" in b["tags"], b

        # A PR number nobody stored, or a "#N" that is not the merge
        # boilerplate, lends nothing.
        for i, msg in enumerate(["Merged in feature/y (pull request #999)\n",
                                 "Fix (see pull request #4242 later)\n",
                                 "Merged in feature/x (pull request #04242)\n"]):
            other = json.loads(json.dumps(push))
            oc = other["push"]["changes"][0]
            oc["commits"][0]["message"] = msg
            oc["new"]["target"]["hash"] = "%040x" % (0xabc0 + i)    # new content
            oc["commits"][0]["hash"] = oc["new"]["target"]["hash"]
            st, js, raw, _ = bs.post("repo:push", json.dumps(other))
            assert st == 202 and js["status"] == "queued", raw
            drain(redis, sleuth, 2 + i, "push %d" % i)
            b = sleuth.requests[-1]["json"]
            assert b["sha"] == oc["new"]["target"]["hash"], b
            assert "SHOP-77" not in json.dumps(b), (msg, b)

        # Another repository's PR #4242 is not this one.
        bar = json.loads(json.dumps(push))
        bar["repository"]["full_name"] = "brydzewski/bar"
        bar["push"]["changes"][0]["new"]["target"]["hash"] = "%040x" % 0xbeef
        st, js, raw, _ = bs.post("repo:push", json.dumps(bar))
        assert st == 202, raw
        drain(redis, sleuth, 5, "other repository")
        b = sleuth.requests[-1]
        assert b["path"] == "/api/1/deployments/acme/bar/register_deploy", b["path"]
        assert "SHOP-77" not in json.dumps(b["json"]), b["json"]

        # Data Center: "Pull request #N: ..." merge commits.
        dpr = json.loads(H.read_fixture("jenkinsci-bitbucket-branch-source-plugin/dc_pr-opened.json"))
        dpr["pullRequest"]["id"] = 7
        dpr["pullRequest"]["title"] = "Diffstat view"
        dpr["pullRequest"]["fromRef"]["displayId"] = "feature/OPS-5-diffstat"
        st, js, raw, _ = dc_post(bs, "pr:opened", json.dumps(dpr).encode())
        assert st == 202 and js["status"] == "queued", raw
        assert "OPS-5" in js["issues"], js
        wait_pr(redis, "pr:amuniz/test-repos:7")
        dpush = json.loads(H.read_fixture(
            "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_update_with-commits.json"))
        dpush["commits"][0]["message"] = ("Pull request #7: Diffstat view\n\nMerge in AMUNIZ/test-repos "
                                          "from feature/OPS-5-diffstat to main\n")
        st, js, raw, _ = dc_post(bs, "repo:refs_changed", json.dumps(dpush).encode())
        assert st == 202 and js["status"] == "queued", raw
        drain(redis, sleuth, 6, "dc push")
        r = sleuth.requests[-1]
        assert r["path"] == "/api/1/deployments/acme/test-repos/register_deploy", r["path"]
        b = r["json"]
        assert b["sha"] == dpush["toCommit"]["id"], b
        assert b["links"].get("OPS-5") == "https://jira.example/browse/OPS-5", b
        assert "#ops-5" in b["tags"], b
        # The target's first deploy, no API credentials: its commits are
        # not provably the payload's, so none are sent (issue 12).
        assert "commits" not in b, b
        assert len(sleuth.requests) == 6
    finally:
        H.shutdown(redis, sleuth, bs)


# ---------------------------------------------------------------- 4. every answer

def pr_record(ev, p):
    """(key name, title) of the PR record a PR payload leaves, or None."""
    if ev.startswith("pullrequest:") and isinstance(p.get("pullrequest"), dict):
        pr = p["pullrequest"]
        repo = ((pr.get("destination") or {}).get("repository") or {}).get("full_name") \
            or p["repository"]["full_name"]
    elif ev.startswith("pr:") and isinstance(p.get("pullRequest"), dict):
        pr = p["pullRequest"]
        repo = dc_repo(pr["toRef"]["repository"])
    else:
        return None
    if not isinstance(pr.get("id"), int) or pr["id"] < 1:
        return None
    return "pr:%s:%d" % (repo.lower(), pr["id"]), pr.get("title")


def test_every_fixture_still_gets_the_right_answer():
    redis, sleuth, bs = start(DC_DEPLOYMENTS + CLOUD_MERGE_DEPLOYMENTS)
    try:
        used_push = {"repo:push", "repo:refs_changed", "mirror:repo_synchronized"}
        records = {}
        for path, ev, product in H.fixtures():
            body = H.read_fixture(path)
            if product == "dc":
                st, js, raw, _ = dc_post(bs, ev, body)
            else:
                st, js, raw, _ = bs.post(ev, body)
            assert js is not None, (path, raw)
            if ev == "diagnostics:ping":
                assert st == 200 and js["status"] == "ok", (path, st, js)
            elif ev.startswith("pullrequest:") or ev.startswith("pr:") or ev in used_push:
                assert st in (200, 202), (path, st, js)
                assert js["status"] in ("queued", "duplicate", "ignored"), (path, js)
                if js["status"] == "ignored":
                    # an empty push; a mirror sync over the ref limit says so
                    over = json.loads(body).get("refLimitExceeded") is True
                    want_reason = "refLimitExceeded" if over else "without changes"
                    assert want_reason in js["reason"], (path, js)
                if js["status"] == "queued":
                    rec = pr_record(ev, json.loads(body))
                    if rec:
                        records[rec[0]] = rec[1]
            else:
                assert st == 202 and js["status"] == "ignored", (path, st, js)
        H.wait_for(lambda: H.settled(redis, PREFIX), 60, what="every job finished (stream, retry set, pending)")
        assert redis.cmd("XLEN", key("dead")) == 0
        # Every queued PR event left its PR (the last event's title wins;
        # the fixtures of one PR id share a title or differ only by event).
        assert len(records) >= 10, records
        for name in records:
            assert redis.cmd("EXISTS", key(name)) == 1, name
            assert redis.cmd("TTL", key(name)) > 29 * 86400, name
        stored = [k.decode() for k in redis.cmd("KEYS", key("pr:*"))]
        assert sorted(stored) == sorted(key(n) for n in records), (stored, records)
    finally:
        H.shutdown(redis, sleuth, bs)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
