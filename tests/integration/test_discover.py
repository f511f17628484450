#!/usr/bin/env python3
"""Discovery of Sleuth projects (issue 16) through the real binary: a real
redis-server, the register_deploy stand-in (harness.SleuthStandIn) and a
loopback server playing Sleuth's GraphQL endpoint (sleuth_graphql.py),
answering with change sources shaped as docs/sleuth-api.md §1.8 documents.

  - two discovered projects (two organisations, their own keys and register
    tokens) beside a hand-written project and a flat deployment: pushes to
    the Bitbucket repositories' mapped branches register the right
    org/deployment/environment, the GitHub and GitLab ones never; `check
    --discover` lists exactly the targets and exits 0
  - a prefix mapping from Sleuth ("release/") and glob mappings: the branch
    is sent
  - a non-MANUAL tracking type: warned and left out, unless
    include_non_manual (then registered, still warned)
  - a failed refresh (timer and SIGHUP; 503, a hung Sleuth, a garbled
    answer) keeps the mapping in force, blocks no push, and
    shows in /metrics, `bitsleuth stats`, the cache and the log
  - a refresh that changes the mapping: logged as a diff, the next push
    goes to the new environment, a removed code deployment is dropped
  - a second `work` process started during an outage uses the cached
    mapping; one with no cache does not read jobs (/readyz not ready) until
    Sleuth answers, and then registers the waiting push
  - `check --discover` exits 1 with the reason when the key is refused
    (401, 403), the project is unknown or another organisation's, or
    Sleuth cannot be reached
"""
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from sleuth_graphql import SleuthGraphQL, code_source, flag_source  # noqa: E402

PUSH_TPL = "drone-go-scm/cloud_repo-push_branch.json"     # a Cloud update push, old and new hash
GQL_ACME = "gql-acme-org-key"
GQL_GLOBEX = "gql-globex-org-key"
GLOBEX_TOKEN = "globex-register-token"
CACHE = "{bstest}:discover:%s"
FLAT = {"org": "acme", "deployment": "legacy", "repository": "acme/legacy", "branch": "main"}
_sha = itertools.count(1)
_gqls = []     # the running test's GraphQL stand-ins: closed, and described on a failure


def new_sha():
    return "%040x" % (0xd15c0000000 + next(_sha))


def push_body(repo, branch, sha):
    """The real Cloud push fixture moved to repo and branch, new hash sha."""
    p = json.loads(H.read_fixture(PUSH_TPL))
    p["repository"]["full_name"] = repo
    p["repository"]["name"] = repo.split("/", 1)[1]
    ch = p["push"]["changes"][0]
    ch["new"]["name"] = branch
    ch["new"]["target"]["hash"] = sha
    if ch.get("old"):
        ch["old"]["name"] = branch
    return json.dumps(p).encode()


def push(bs, repo, branch):
    """Posts a push; returns its new sha."""
    sha = new_sha()
    st, js, raw, _ = bs.post("repo:push", push_body(repo, branch, sha))
    if st != 202 or not js or js.get("status") != "queued":
        H.fail("push %s %s: %d %r" % (repo, branch, st, raw[:300]))
    return sha


def gql_server(**kw):
    g = SleuthGraphQL(keys={GQL_ACME: "acme", GQL_GLOBEX: "globex"}, **kw)
    _gqls.append(g)
    return g


def config(redis, sleuth, gql, projects, flat=(FLAT,), discover_every=None, metrics_listen=False):
    """A harness config with sleuth.graphql_* pointing at gql, `projects`
    (YAML text starting with "projects:") and the flat deployments."""
    text = H.make_config(redis.port, sleuth.url, list(flat), extra=projects, sleuth_timeout_ms=10000)
    if not flat:
        text = re.sub(r"^deployments:\n\Z", "", text, flags=re.M)
    sl = "  token_env: BS_IT_TOKEN\n  graphql_url: %s/graphql\n  graphql_token_env: BS_IT_GQL_TOKEN\n" % gql.url
    if discover_every:
        sl += "  discover_every: %s\n" % discover_every
    text = text.replace("  token_env: BS_IT_TOKEN\n", sl, 1)
    if metrics_listen:
        text = "metrics_listen: 127.0.0.1:0\n" + text
    return text


def env(**over):
    e = dict(os.environ, BS_IT_SECRET=H.SECRET, BS_IT_TOKEN=H.TOKEN, BS_IT_GQL_TOKEN=GQL_ACME,
             BS_IT_GQL_GLOBEX=GQL_GLOBEX, BS_IT_TOKEN_GLOBEX=GLOBEX_TOKEN)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    e.update(over)
    return e


def start(text, mode="run", **kw):
    return H.Bitsleuth(text, mode=mode, env_extra=env(), **kw)


def cli(bs_or_path, *args, env_over=None):
    path = bs_or_path if isinstance(bs_or_path, str) else bs_or_path.config
    r = subprocess.run([H.BIN] + list(args) + ["-c", path], env=env(**(env_over or {})),
                       capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def write_config(text):
    d = tempfile.mkdtemp(prefix="bs-disc-")
    H._dirs.append(d)
    path = os.path.join(d, "bitsleuth.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def check_discover(path, env_over=None):
    return cli(path, "check", "--discover", env_over=env_over)


def targets_of(out, err=""):
    """N of `targets (N):` and the target lines under it, stripped, as
    bs_deployment_describe writes them ("org/project/dep/env <- repo
    branches (branch sent) [paths: ...]"); a trailing note of where it is
    written, as plain `check` adds ("(push; deployments[0], line 23)"),
    is left out."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^targets(?: \((\d+)\):|:\s+(\d+))\s*$", line)
        if m:
            got = []
            for x in lines[i + 1:]:
                if not x.startswith("  "):
                    break
                if " <- " in x:
                    got.append(re.sub(r" \((?:push|merge|tag)[;,][^()]*\)$", "", x.strip()))
            return int(m.group(1) or m.group(2)), got
    H.fail("no 'targets (N):' line in the output of check --discover:\n%s\n-- stderr --\n%s" % (out, err))


def path_of(org, dep):
    return "/api/1/deployments/%s/%s/register_deploy" % (org, dep)


def sent(sleuth, org=None, dep=None, sha=None):
    with sleuth.lock:
        return [r for r in sleuth.requests
                if (org is None or r["path"] == path_of(org, dep))
                and (sha is None or (r["json"] or {}).get("sha") == sha)]


def registered(sleuth, org, dep, sha, timeout=60):
    """The body of the 200-answered registration of sha at org/dep."""
    got = H.wait_for(lambda: [r for r in sent(sleuth, org, dep, sha) if r.get("answered") == 200], timeout,
                     what=lambda: "sha %s registered at %s/%s; Sleuth got %s" % (
                         sha[:12], org, dep, [(r["path"], (r["json"] or {}).get("sha", "")[:12])
                                              for r in sent(sleuth)]))
    return got[0]["json"]


def no_deploy_for(sleuth, sha):
    got = sent(sleuth, sha=sha)
    if got:
        H.fail("sha %s must not be registered, but went to %s" % (sha[:12], [r["path"] for r in got]))


def settle(redis, what="every job finished", timeout=60):
    H.wait_for(lambda: H.settled(redis), timeout, what=what)


def metric_total(bs, name, **labels):
    """A family's sum from the /metrics of bs (its metrics_listen port when
    it has one, else its ingest port)."""
    st, _, raw, _ = bs.ops_get("/metrics") if bs.metrics_port else bs.get("/metrics")
    if st != 200:
        H.fail("GET /metrics: %d" % st)
    return H.total(H.parse_metrics(raw), name, **labels)


def refreshes(bs, outcome):
    return metric_total(bs, "bitsleuth_discovery_refreshes_total", outcome=outcome)


def wait_targets(bs, n, timeout=60):
    H.wait_for(lambda: metric_total(bs, "bitsleuth_discovered_targets") == n, timeout,
               what=lambda: "bitsleuth_discovered_targets == %d (it is %s)" % (
                   n, metric_total(bs, "bitsleuth_discovered_targets")))


def cache(redis, project):
    h = redis.cmd("HGETALL", CACHE % project) or []
    return {k.decode(): v.decode() for k, v in zip(h[::2], h[1::2])}


def log_has(bs, pattern):
    return re.search(pattern, bs.log(), re.M)


def cache_always_reachable(*procs):
    """Redis was up for the whole test: a process that could not read or
    write the discovery cache (worker/discovery.h: the cached answer is
    taken at start) did it before its Redis connection was up."""
    for p in procs:
        bad = [x for x in p.log().splitlines() if re.search(r"discover \S+: cannot (read|write) the cache", x)]
        if bad:
            H.fail("bitsleuth %s could not use the discovery cache although Redis was up all along "
                   "(the cached mapping is then taken only at the next try):\n%s" % (p.mode, "\n".join(bad)))


class QuietWorker(H.Bitsleuth):
    """A `work` process whose start waits only for its metrics port (the
    harness waits for "consuming", which a worker without a mapping is not)."""

    def start(self):
        self.killed = False
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([H.BIN, self.mode, "-c", self.config], stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=self.env)
        H._procs.append(self.proc)

        def metrics_on():
            m = re.search(r"metrics on http://\S+:(\d+) \(/metrics", self.log())
            return int(m.group(1)) if m else self._dead()
        self.metrics_port = H.wait_for(metrics_on, 30, what="bitsleuth work to serve metrics")


def pending(redis):
    try:
        return redis.cmd("XPENDING", "{bstest}:jobs", "workers")[0]
    except RuntimeError:        # no group yet: nothing read
        return 0


# ---------------------------------------------------------------- the tests

TWO_PROJECTS = """projects:
  - org: acme
    project: payments
    discover: true
  - org: globex
    project: billing
    discover: true
    graphql_token_env: BS_IT_GQL_GLOBEX
    token_env: BS_IT_TOKEN_GLOBEX
  - org: acme
    project: shop
    code_deployments:
      - deployment: shop-web
        repository: acme/shop
        environments:
          production: main
"""


def two_projects(gql):
    gql.projects["payments"] = [
        code_source("pay-web", repo="acme/pay", envs={"production": "main", "staging": "develop"}),
        code_source("pay-gh", repo="acme/pay-gh", envs={"production": "main"}, provider="GITHUB"),
        flag_source("pay-flags"),
        code_source("pay-worker", repo="acme/pay-worker", envs={"production": "main"}),
    ]
    gql.projects["billing"] = [
        code_source("bill-api", repo="globex/billing", envs={"production": "master"}),
        code_source("bill-gl", repo="globex/billing-gl", envs={"production": "master"}, provider="GITLAB"),
    ]
    gql.project_org["billing"] = "globex"


def test_two_projects_bitbucket_and_other_code_deployments():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    two_projects(gql)
    bs = start(config(redis, sleuth, gql, TWO_PROJECTS))
    try:
        wait_targets(bs, 4)     # pay-web x2, pay-worker, bill-api
        # What bitsleuth asked: one query per project, with its org's key.
        for proj, key in (("payments", GQL_ACME), ("billing", GQL_GLOBEX)):
            reqs = [r for r in gql.answered(200) if (r["json"].get("variables") or {}).get("projectSlug") == proj]
            assert reqs, (proj, gql.describe())
            r = reqs[0]
            assert r["path"] == "/graphql" and r["method"] == "POST", r
            assert r["headers"].get("authorization") == "apikey " + key, r["headers"]
            assert r["headers"].get("content-type", "").startswith("application/json"), r["headers"]
        want = [  # (repo, branch, org, deployment, environment)
            ("acme/pay", "main", "acme", "pay-web", "production"),
            ("acme/pay", "develop", "acme", "pay-web", "staging"),
            ("acme/pay-worker", "main", "acme", "pay-worker", "production"),
            ("globex/billing", "master", "globex", "bill-api", "production"),
            ("acme/shop", "main", "acme", "shop-web", "production"),
            ("acme/legacy", "main", "acme", "legacy", "production"),
        ]
        shas = [push(bs, repo, branch) for repo, branch, _, _, _ in want]
        never = [push(bs, "acme/pay-gh", "main"), push(bs, "globex/billing-gl", "master"),
                 push(bs, "acme/pay", "feature/x")]
        for sha, (repo, branch, org, dep, envname) in zip(shas, want):
            body = registered(sleuth, org, dep, sha)
            assert body["environment"] == envname, (repo, branch, body)
            assert "branch" not in body, ("an exact mapping sends no branch", body)
            r = [x for x in sent(sleuth, org, dep, sha) if x["answered"] == 200][0]
            tok = GLOBEX_TOKEN if org == "globex" else H.TOKEN
            assert r["headers"]["authorization"] == "Bearer " + tok, (org, r["headers"]["authorization"])
        settle(redis)
        for sha in never:
            no_deploy_for(sleuth, sha)
        assert not [r for r in sleuth.requests if "/pay-gh/" in r["path"] or "/bill-gl/" in r["path"]]
        assert len(sleuth.answered(200)) == len(want), [r["path"] for r in sleuth.requests]

        # check --discover: one question per project, exactly these targets.
        n0 = gql.count()
        rc, out, err = check_discover(bs.config)
        assert rc == 0, (rc, out, err)
        assert gql.count() == n0 + 2, gql.describe()
        assert re.search(r"^discover acme/payments: 2 code deployments from Sleuth "
                         r"\(2 change sources skipped: not on Bitbucket\)$", out, re.M), out
        assert re.search(r"^discover globex/billing: 1 code deployments? from Sleuth "
                         r"\(1 change sources? skipped: not on Bitbucket\)$", out, re.M), out
        n, lines = targets_of(out, err)
        expect = {
            "acme/-/legacy/production <- acme/legacy main",
            "acme/shop/shop-web/production <- acme/shop main",
            "acme/payments/pay-web/production <- acme/pay main",
            "acme/payments/pay-web/staging <- acme/pay develop",
            "acme/payments/pay-worker/production <- acme/pay-worker main",
            "globex/billing/bill-api/production <- globex/billing master",
        }
        assert n == len(expect) and len(lines) == n and set(lines) == expect, (n, lines, out)
        assert not re.search(r"warning: (acme/payments|globex/billing)", out + err), (out, err)
        # A plain `check` does not ask Sleuth.
        n0 = gql.count()
        rc, out, err = cli(bs, "check")
        assert rc == 0, (rc, out, err)
        assert gql.count() == n0, ("plain check asked Sleuth", gql.describe())
        cache_always_reachable(bs)
    finally:
        H.shutdown(redis, sleuth, bs)


PAYMENTS = """projects:
  - org: acme
    project: payments
    discover: true
"""


def test_prefix_and_glob_mappings_send_the_branch():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    gql.projects["payments"] = [code_source("pay-web", repo="acme/pay", envs=[
        ("production", "main"), ("staging", "release/"), ("qa", "qa-*")])]
    shop = ("  - org: acme\n    project: shop\n    code_deployments:\n      - deployment: shop-web\n"
            "        repository: acme/shop\n        environments:\n          production: main\n"
            "          staging: \"hotfix/*\"\n")
    bs = start(config(redis, sleuth, gql, PAYMENTS + shop))
    try:
        wait_targets(bs, 3)
        cases = [("acme/pay", "release/1.2", "pay-web", "staging", "release/1.2"),
                 ("acme/pay", "qa-7", "pay-web", "qa", "qa-7"),
                 ("acme/pay", "main", "pay-web", "production", None),
                 ("acme/shop", "hotfix/9", "shop-web", "staging", "hotfix/9")]
        shas = [push(bs, repo, branch) for repo, branch, _, _, _ in cases]
        never = [push(bs, "acme/pay", "release"), push(bs, "acme/pay", "prerelease/1"),
                 push(bs, "acme/pay", "qa")]
        for sha, (repo, branch, dep, envname, sent_branch) in zip(shas, cases):
            body = registered(sleuth, "acme", dep, sha)
            assert body["environment"] == envname, (branch, body)
            if sent_branch is None:
                assert "branch" not in body, (branch, body)
            else:
                assert body.get("branch") == sent_branch, (branch, body)
        settle(redis)
        for sha in never:
            no_deploy_for(sleuth, sha)
        assert len(sleuth.answered(200)) == len(cases), [r["path"] for r in sleuth.requests]
        rc, out, err = check_discover(bs.config)
        assert rc == 0, (rc, out, err)
        n, lines = targets_of(out, err)
        expect = {
            "acme/-/legacy/production <- acme/legacy main",
            "acme/shop/shop-web/production <- acme/shop main",
            "acme/shop/shop-web/staging <- acme/shop hotfix/* (branch sent)",
            "acme/payments/pay-web/production <- acme/pay main",
            "acme/payments/pay-web/staging <- acme/pay release/* (branch sent)",
            "acme/payments/pay-web/qa <- acme/pay qa-* (branch sent)",
        }
        assert n == len(expect) and set(lines) == expect, (n, lines, out)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_non_manual_tracking_is_warned_and_skipped_unless_included():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    gql.projects["payments"] = [
        code_source("pay-web", repo="acme/pay"),
        code_source("pay-auto", repo="acme/pay-auto", tracking="AUTO_PUSH"),
    ]
    text = config(redis, sleuth, gql, PAYMENTS)
    warn = r"warning: acme/payments/pay-auto: deploy tracking type AUTO_PUSH, not MANUAL"
    bs = start(text)
    try:
        rc, out, err = check_discover(bs.config)
        assert rc == 0, (rc, out, err)
        assert re.search(warn, out + err), (out, err)
        n, lines = targets_of(out, err)
        assert "acme/payments/pay-web/production <- acme/pay main" in lines, lines
        assert not [x for x in lines if "pay-auto" in x], lines
        assert n == 2, lines      # legacy and pay-web

        wait_targets(bs, 1)
        auto = push(bs, "acme/pay-auto", "main")
        web = push(bs, "acme/pay", "main")
        registered(sleuth, "acme", "pay-web", web)
        settle(redis)
        no_deploy_for(sleuth, auto)
        assert log_has(bs, r"pay-auto.*AUTO_PUSH|AUTO_PUSH.*pay-auto"), \
            "the running process warns of the skipped code deployment too"

        # include_non_manual: true, on a reload: registered, still warned.
        with open(bs.config, "w") as f:
            f.write(text.replace("    discover: true\n", "    discover: true\n    include_non_manual: true\n"))
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: "reloaded" in bs.log(), 20, what="the reload")
        wait_targets(bs, 2)
        auto2 = push(bs, "acme/pay-auto", "main")
        body = registered(sleuth, "acme", "pay-auto", auto2)
        assert body["environment"] == "production", body
        settle(redis)
        no_deploy_for(sleuth, auto)     # the earlier push stays unregistered
        rc, out, err = check_discover(bs.config)
        assert rc == 0, (rc, out, err)
        assert re.search(warn, out + err), (out, err)
        n, lines = targets_of(out, err)
        assert "acme/payments/pay-auto/production <- acme/pay-auto main" in lines and n == 3, lines
    finally:
        H.shutdown(redis, sleuth, bs)


def test_failed_refresh_keeps_the_mapping_and_is_shown():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    gql.projects["payments"] = [code_source("pay-web", repo="acme/pay")]
    bs = start(config(redis, sleuth, gql, PAYMENTS, discover_every="10s"))
    try:
        wait_targets(bs, 1)
        registered(sleuth, "acme", "pay-web", push(bs, "acme/pay", "main"))
        assert refreshes(bs, "failed") == 0
        rc, out, err = cli(bs, "stats")
        assert rc == 0 and re.search(r"^discovery:", out, re.M), (out, err)
        assert re.search(r"acme/payments: 1 code deployments?, learned [^;\n]* ago", out), out
        assert "refreshes failed" not in out, out

        # Sleuth answers 503: the timer's refresh fails, then SIGHUP's.
        gql.outage("503")
        H.wait_for(lambda: refreshes(bs, "failed") >= 1, 60, what="a failed timer refresh")
        before = refreshes(bs, "failed")
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: refreshes(bs, "failed") > before, 30, what="the SIGHUP refresh to fail")
        assert metric_total(bs, "bitsleuth_discovered_targets") == 1, "the mapping stays in force"
        # A push after the failures is registered under the kept mapping.
        sha = push(bs, "acme/pay", "main")
        assert registered(sleuth, "acme", "pay-web", sha)["environment"] == "production"
        c = cache(redis, "acme/payments")
        assert int(c.get("failures", "0")) >= 2 and "503" in c.get("last_error", ""), c
        assert int(c.get("last_error_ms", "0")) > 0, c
        assert "pay-web" in c.get("answer", ""), ("the last good answer stays cached", c)
        rc, out, err = cli(bs, "stats")
        assert rc == 0, err
        m = re.search(r"acme/payments: 1 code deployments?, learned [^;\n]* ago; (\d+) refreshes failed since "
                      r"\(last [^:\n]* ago: [^)\n]*503", out)
        assert m and int(m.group(1)) >= 2, out
        rc, out, err = cli(bs, "stats", "--json")
        assert rc == 0, err
        js = json.loads(out)
        assert isinstance(js.get("discovery"), list) and "payments" in json.dumps(js["discovery"]), \
            js.get("discovery")
        assert [x for x in bs.log().splitlines() if "acme/payments" in x and "503" in x], \
            "the failed refresh is logged:\n" + bs.log()[-3000:]

        # Sleuth back: the next refresh is good and the failures are reset.
        gql.restore()
        ok = refreshes(bs, "ok") + refreshes(bs, "changed")
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: refreshes(bs, "ok") + refreshes(bs, "changed") > ok, 30, what="a good refresh")
        H.wait_for(lambda: cache(redis, "acme/payments").get("failures") in ("0", None), 10,
                   what=lambda: "failures reset in the cache: %s" % cache(redis, "acme/payments"))
        rc, out, err = cli(bs, "stats")
        assert rc == 0 and "refreshes failed" not in out, out
    finally:
        H.shutdown(redis, sleuth, bs)


def test_hung_or_garbled_answer_fails_the_refresh_and_blocks_nothing():
    """A refresh Sleuth never answers ends at sleuth.timeout_ms as a failed
    one, and pushes are registered meanwhile; an answer that is not
    GraphQL JSON fails the refresh too. The mapping stays throughout."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    gql.projects["payments"] = [code_source("pay-web", repo="acme/pay")]
    text = config(redis, sleuth, gql, PAYMENTS).replace("  timeout_ms: 10000\n", "  timeout_ms: 4000\n")
    bs = start(text)
    try:
        wait_targets(bs, 1)
        gql.outage("hang")
        n = gql.count()
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: gql.count() > n, 20, what="the refresh to reach the hung Sleuth")
        sha = push(bs, "acme/pay", "main")
        assert registered(sleuth, "acme", "pay-web", sha)["environment"] == "production"
        H.wait_for(lambda: refreshes(bs, "failed") >= 1, 60, what="the hung refresh to time out as failed")
        assert metric_total(bs, "bitsleuth_discovered_targets") == 1
        gql.restore()
        # 200 with a body that is not GraphQL's JSON.
        gql.fail_next(1, 200, "<html><body>maintenance</body></html>")
        before = refreshes(bs, "failed")
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: refreshes(bs, "failed") > before, 30, what="the garbled answer to fail the refresh")
        assert metric_total(bs, "bitsleuth_discovered_targets") == 1
        sha = push(bs, "acme/pay", "main")
        assert registered(sleuth, "acme", "pay-web", sha)["environment"] == "production"
        assert "pay-web" in cache(redis, "acme/payments").get("answer", ""), "the good answer stays cached"
    finally:
        H.shutdown(redis, sleuth, bs)


def test_refresh_that_changes_the_mapping():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    gql.projects["payments"] = [
        code_source("pay-web", repo="acme/pay", envs={"production": "main", "staging": "develop"}),
        code_source("pay-worker", repo="acme/pay-worker", envs={"production": "main"}),
    ]
    bs = start(config(redis, sleuth, gql, PAYMENTS))
    try:
        wait_targets(bs, 3)
        body = registered(sleuth, "acme", "pay-web", push(bs, "acme/pay", "main"))
        assert body["environment"] == "production", body
        settle(redis)
        changed = refreshes(bs, "changed")
        # In Sleuth: production now tracks "prod", main goes to a new qa
        # environment, staging stays, pay-worker is deleted.
        gql.projects["payments"] = [code_source("pay-web", repo="acme/pay", envs=[
            ("production", "prod"), ("staging", "develop"), ("qa", "main")])]
        bs.signal(signal.SIGHUP)
        dep = r"acme/(?:payments/)?%s/%s <- %s"
        H.wait_for(lambda: log_has(bs, r"\+ " + dep % ("pay-web", "qa", "acme/pay main")), 30,
                   what=lambda: "the diff line of the new qa target in the log:\n" + bs.log()[-3000:])
        log = bs.log()
        for line in (r"- " + dep % ("pay-web", "production", "acme/pay main"),
                     r"\+ " + dep % ("pay-web", "production", "acme/pay prod"),
                     r"- " + dep % ("pay-worker", "production", "acme/pay-worker main")):
            assert re.search(line, log), (line, log[-3000:])
        assert not re.search(r"- acme/(?:payments/)?pay-web/staging", log), ("staging did not change", log[-3000:])
        assert refreshes(bs, "changed") > changed
        wait_targets(bs, 3)
        qa = push(bs, "acme/pay", "main")
        prod = push(bs, "acme/pay", "prod")
        staging = push(bs, "acme/pay", "develop")
        gone = push(bs, "acme/pay-worker", "main")
        assert registered(sleuth, "acme", "pay-web", qa)["environment"] == "qa"
        assert registered(sleuth, "acme", "pay-web", prod)["environment"] == "production"
        assert registered(sleuth, "acme", "pay-web", staging)["environment"] == "staging"
        settle(redis)
        no_deploy_for(sleuth, gone)
        assert len(sent(sleuth, sha=qa)) == 1, ("main now goes to qa only", sent(sleuth, sha=qa))
        assert '"qa"' in cache(redis, "acme/payments").get("answer", ""), "the new answer is cached"
    finally:
        H.shutdown(redis, sleuth, bs)


def test_second_worker_started_during_an_outage_uses_the_cache():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    gql.projects["payments"] = [code_source("pay-web", repo="acme/pay", envs={"staging": "develop"})]
    text = config(redis, sleuth, gql, PAYMENTS, metrics_listen=True)
    w1 = start(text, mode="work", consumer="w1")
    serve = w2 = None
    try:
        H.wait_for(lambda: "pay-web" in cache(redis, "acme/payments").get("answer", ""), 60,
                   what=lambda: "the first worker to cache the answer: %s" % cache(redis, "acme/payments"))
        c = cache(redis, "acme/payments")
        assert int(c["fetched_ms"]) > 0 and c.get("failures", "0") == "0", c
        rc = w1.stop()
        assert rc == 0, "the first worker exited %s" % rc
        gql.outage("refuse")
        n = len(gql.requests)
        serve = start(text, mode="serve", workdir=w1.dir)
        w2 = start(text, mode="work", workdir=w1.dir, consumer="w2")
        H.wait_for(lambda: w2.ops_get("/readyz")[0] == 200, 30, what="the second worker ready")
        assert refreshes(w2, "cached") >= 1, "the mapping came from the cache"
        sha = push(serve, "acme/pay", "develop")
        body = registered(sleuth, "acme", "pay-web", sha)
        assert body["environment"] == "staging", body
        settle(redis)
        H.wait_for(lambda: refreshes(w2, "failed") >= 1, 60, what="the second worker's refresh to fail")
        H.wait_for(lambda: int(cache(redis, "acme/payments").get("failures") or 0) >= 1, 30,
                   what=lambda: "the failure counted in the cache: %s" % cache(redis, "acme/payments"))
        assert len(gql.requests) == n, "the stand-in was down"
        assert metric_total(w2, "bitsleuth_discovered_targets") == 1
        cache_always_reachable(w1, serve, w2)
    finally:
        H.shutdown(redis, sleuth, *[p for p in (w1, serve, w2) if p is not None])


def test_worker_without_a_mapping_waits_for_sleuth_and_loses_nothing():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = gql_server()
    gql.projects["payments"] = [code_source("pay-web", repo="acme/pay")]
    gql.outage("refuse")
    text = config(redis, sleuth, gql, PAYMENTS, metrics_listen=True)
    serve = start(text, mode="serve")
    w = QuietWorker(text, mode="work", env_extra=env(), workdir=serve.dir, consumer="w")
    try:
        H.wait_for(lambda: refreshes(w, "failed") >= 1, 60, what="the worker's first refresh to fail")
        st, js, raw, _ = w.ops_get("/readyz")
        assert st == 503, ("not ready without a mapping", st, raw)
        sha = push(serve, "acme/pay", "main")
        flat = push(serve, "acme/legacy", "main")
        time.sleep(3.0)        # a worker that reads would take the jobs by now
        assert redis.cmd("XLEN", "{bstest}:jobs") == 2, "the jobs wait in the stream"
        assert pending(redis) == 0, "the worker does not read jobs while a project has no mapping"
        assert not sleuth.requests, [r["path"] for r in sleuth.requests]
        assert w.ops_get("/readyz")[0] == 503
        assert not cache(redis, "acme/payments").get("answer"), "nothing learned yet"
        rc, out, err = cli(w, "stats")
        assert rc == 0 and "nothing learned yet" in out, out
        # Sleuth comes back: the worker learns on its next try and registers both.
        gql.restore()
        body = registered(sleuth, "acme", "pay-web", sha, timeout=120)
        assert body["environment"] == "production", body
        registered(sleuth, "acme", "legacy", flat)
        settle(redis)
        H.wait_for(lambda: w.ops_get("/readyz")[0] == 200, 30, what="the worker ready")
        assert "pay-web" in cache(redis, "acme/payments").get("answer", "")
        assert redis.cmd("XLEN", "{bstest}:dead") == 0
        cache_always_reachable(serve, w)
    finally:
        H.shutdown(redis, sleuth, serve, w)


def test_check_discover_fails_on_refused_key_unknown_project_and_no_sleuth():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    gql = SleuthGraphQL(keys={GQL_ACME: "acme", GQL_GLOBEX: "globex"}, personal_keys={"my-personal-key"})
    _gqls.append(gql)
    two_projects(gql)
    try:
        good = write_config(config(redis, sleuth, gql, PAYMENTS))
        rc, out, err = check_discover(good)
        assert rc == 0, ("the right key", rc, out, err)
        for key, status in (("not-a-key", "401"), ("my-personal-key", "403")):
            rc, out, err = check_discover(good, env_over={"BS_IT_GQL_TOKEN": key})
            assert rc == 1, (key, rc, out, err)
            assert re.search(r"^error: discover acme/payments: .*%s" % status, err, re.M), (key, err)
            assert gql.count(status=int(status)) >= 1
        nosuch = write_config(config(redis, sleuth, gql, PAYMENTS.replace("payments", "nosuch")))
        rc, out, err = check_discover(nosuch)
        assert rc == 1, (rc, out, err)
        assert re.search(r"^error: discover acme/nosuch: .*(not found|no such project)", err, re.M | re.I), err
        # globex's project asked with acme's key: Sleuth knows no such project in acme.
        other = write_config(config(redis, sleuth, gql, PAYMENTS.replace("payments", "billing")))
        rc, out, err = check_discover(other)
        assert rc == 1 and re.search(r"^error: discover acme/billing: ", err, re.M), (rc, out, err)
        gql.outage("refuse")
        rc, out, err = check_discover(good)
        assert rc == 1 and re.search(r"^error: discover acme/payments: ", err, re.M), (rc, out, err)
        gql.restore()
        rc, out, err = check_discover(good)
        assert rc == 0, ("Sleuth back", rc, out, err)
    finally:
        sleuth.close()
        redis.close()


def _with_gql(fn):
    def run():
        del _gqls[:]
        try:
            fn()
        except Exception:
            for g in _gqls:
                sys.stderr.write(g.describe() + "\n")
            raise
        finally:
            for g in _gqls:
                g.close()
    return run


if __name__ == "__main__":
    H.run_tests([(n, _with_gql(f)) for n, f in sorted(globals().items())
                 if n.startswith("test_") and callable(f)])
