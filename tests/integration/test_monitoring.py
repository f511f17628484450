#!/usr/bin/env python3
"""monitoring/: the alert rules pass `promtool check rules` and their unit
tests (bitsleuth-rules.test.yml), the compose Prometheus config passes
`promtool check config`, the Grafana dashboard is well-formed (datasource
${DS_PROMETHEUS}, every expression valid PromQL), and every metric name
the dashboard and the rules use (and every label they match on) exists in
a real scrape of `run` and `work` after real traffic (deliveries queued,
registered at the Sleuth stand-in, refused, a Bitbucket API call to the
stand-in of tests/integration/bb_api.py, a Redis replica for the lag)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H
from bb_api import FakeBitbucket  # noqa: E402
from sleuth_graphql import SleuthGraphQL, code_source  # noqa: E402

MON = os.path.join(H.SOURCE_DIR, "monitoring")
RULES = os.path.join(MON, "prometheus", "bitsleuth-rules.yml")
RULES_TEST = os.path.join(MON, "prometheus", "bitsleuth-rules.test.yml")
PROM_CONFIG = os.path.join(MON, "prometheus", "prometheus.yml")
DASHBOARD = os.path.join(MON, "grafana", "bitsleuth.json")
PUSH = "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_update.json"
DEP = {"org": "acme", "deployment": "temp", "repository": "cloudbeers/temp", "branch": "main"}

# Series Prometheus makes itself, not the binary.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# Labels a scrape adds (target labels), not the binary.
TARGET_LABELS = {"job", "instance"}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                "group_right", "offset", "bool", "inf", "nan", "le"}


def promtool():
    p = shutil.which("promtool")
    assert p, "promtool not found: install Debian's prometheus package (scripts/deps.sh test does)"
    return p


def run(*args, cwd=None):
    r = subprocess.run(list(args), capture_output=True, timeout=120, cwd=cwd)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


# ---------------------------------------------------------------- expressions

def rule_exprs():
    """(alert name, expr) of every rule. The rules file is YAML; its
    exprs are plain or `|` block scalars, read with a small reader of
    that shape (the standard library has no YAML)."""
    out, name, lines = [], None, open(RULES).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*- (alert|record): (\S+)", line)
        if m:
            name = m.group(2)
        m = re.match(r"(\s*)expr: ?(.*)$", line)
        if m:
            indent, rest = len(m.group(1)), m.group(2)
            if rest.strip() in ("|", ">", "|-", ">-"):
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                out.append((name, " ".join(block)))
                continue
            out.append((name, rest))
        i += 1
    assert len(out) >= 6, out
    return out


def dashboard_exprs(dash):
    """(panel title, expr) of every target of every panel (rows' nested
    panels included), and the template variables' queries."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((p.get("title"), t["expr"]))
            walk(p.get("panels", []))
    walk(dash["panels"])
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"label_values\((\w+)\s*,\s*(\w+)\)", q or "")
        if m:
            out.append(("variable " + v["name"], m.group(1)))
    return out


def grafana_to_promql(expr):
    """The dashboard's Grafana variables replaced by what they stand for."""
    return (expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
            .replace('"$job"', '".*"'))


def names_in(expr):
    """{metric name: set of label names matched on it} of a PromQL expr."""
    e = grafana_to_promql(expr)
    e = re.sub(r"\[[^\]]*\]", "", e)                         # ranges [5m]
    found = {}
    # a name with its matchers: name{a="x", b!~"y"}
    for m in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", e):
        labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)))
        found.setdefault(m.group(1), set()).update(labels)
    e = re.sub(r"\{[^}]*\}", "", e)                           # matchers
    e = re.sub(r'"[^"]*"', "", e)                             # strings
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    for m in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS:
            continue
        found.setdefault(word, set())
    return found


# ---------------------------------------------------------------- scrape

def parse_scrape(text):
    """{sample name: set of label names} of a text-format scrape, with the
    names every `# TYPE` family stands for (histogram: _bucket, _sum,
    _count; summary: _sum, _count; counter: the name and name_total)."""
    names = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) < 4:
                continue
            fam, kind = parts[2], parts[3]
            if kind == "histogram":
                for s in ("_bucket", "_sum", "_count"):
                    names.setdefault(fam + s, set())
            elif kind == "summary":
                for s in ("", "_sum", "_count"):
                    names.setdefault(fam + s, set())
            elif kind == "counter" and not fam.endswith("_total"):
                names.setdefault(fam + "_total", set())
                names.setdefault(fam, set())
            else:
                names.setdefault(fam, set())
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if m:
            labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
            names.setdefault(m.group(1), set()).update(labels)
    return names


def metrics_port(bs):
    """The process's metrics_listen port: harness.Bitsleuth.metrics_port
    once it has one, else from the log line `metrics on http://HOST:PORT
    (...)`; None when the binary never says it (metrics_listen not served
    yet: then `run` is scraped on its ingest port, `work` not at all)."""
    p = getattr(bs, "metrics_port", None)
    if p:
        return p

    deadline = time.time() + 5   # bounded; the line comes at start
    while True:
        m = re.search(r"metrics on http://(?:\[[^\]]*\]|[^:\s/]+):(\d+)", bs.log())
        if m:
            return int(m.group(1))
        if time.time() > deadline:
            return None
        time.sleep(0.05)


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        assert r.status == 200, r.status
        return r.read().decode()


# ---------------------------------------------------------------- tests

def test_rules_pass_promtool():
    rc, out = run(promtool(), "check", "rules", RULES)
    assert rc == 0 and "SUCCESS" in out, out
    rc, out = run(promtool(), "test", "rules", os.path.basename(RULES_TEST), cwd=os.path.dirname(RULES_TEST))
    assert rc == 0 and "SUCCESS" in out, out
    rc, out = run(promtool(), "check", "config", PROM_CONFIG)
    assert rc == 0 and "SUCCESS" in out, out
    # Every alert has for:, a severity and the annotations, with its runbook
    # section in the README.
    text = open(RULES).read()
    readme = open(os.path.join(H.SOURCE_DIR, "README.md")).read()
    anchors = set(re.findall(r"^#+\s+(.+?)\s*$", readme, re.M))
    anchors = {re.sub(r"[^a-z0-9_ -]", "", a.lower()).replace(" ", "-") for a in anchors}
    for block in text.split("- alert: ")[1:]:
        name = block.split()[0]
        for need in ("for: ", "severity: ", "summary: ", "description: ", "runbook_url: "):
            assert need in block, (name, need)
        url = re.search(r'runbook_url: "README.md#([^"]+)"', block)
        assert url and url.group(1) in anchors, (name, url and url.group(1), "no such README section")


def test_rules_unit_tests_can_fail():
    """The unit tests hold the rules: the same tests against a rules file
    whose Redis alert never fires must fail."""
    d = tempfile.mkdtemp(prefix="bs-rules-")
    try:
        with open(RULES) as f:
            broken = f.read().replace("expr: bitsleuth_redis_up == 0", "expr: bitsleuth_redis_up == 2")
        with open(os.path.join(d, "bitsleuth-rules.yml"), "w") as f:
            f.write(broken)
        shutil.copy(RULES_TEST, d)
        rc, out = run(promtool(), "test", "rules", os.path.basename(RULES_TEST), cwd=d)
        assert rc != 0 and "BitsleuthRedisDown" in out, out
    finally:
        shutil.rmtree(d)


def test_dashboard_is_well_formed():
    dash = json.load(open(DASHBOARD))
    assert [i["name"] for i in dash["__inputs"]] == ["DS_PROMETHEUS"], dash["__inputs"]
    assert dash["uid"] and dash["title"]

    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))
    ids = []
    for p in walk(dash["panels"]):
        ids.append(p["id"])
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    titles = " ".join(p.get("title", "") for p in walk(dash["panels"])).lower()
    for want in ("deliveries by outcome", "ingest latency", "sleuth latency", "sleuth error ratio",
                 "queue length", "pending", "oldest", "dead letters", "retries", "lanes held",
                 "redis up", "failovers", "memory", "file descriptors", "cpu", "build_info"):
        assert want in titles, want
    # Every expression is valid PromQL: promtool checks them as recording rules.
    d = tempfile.mkdtemp(prefix="bs-dash-")
    try:
        path = os.path.join(d, "dash-rules.yml")
        with open(path, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (title, expr) in enumerate(dashboard_exprs(dash)):
                f.write("      - record: dashboard:expr_%d\n        expr: %s\n"
                        % (i, json.dumps(grafana_to_promql(expr))))
        rc, out = run(promtool(), "check", "rules", path)
        assert rc == 0, out
    finally:
        shutil.rmtree(d)


def test_every_metric_name_exists_in_a_real_scrape():
    with FakeBitbucket() as bb:
        scrape_all(bb)


def scrape_all(bb):
    redis = H.RedisServer()
    replica = H.RedisServer()       # bitsleuth_redis_replica_lag_seconds needs one
    assert replica.cmd("REPLICAOF", "127.0.0.1", str(redis.port)) == "OK"
    sleuth = H.SleuthStandIn()
    cfg = H.make_config(redis.port, sleuth.url, [DEP], extra="backfill:\n  max_wait: 5s\n")
    # Bitbucket's API (the stand-in; it knows no such repository: the
    # lookup fails, the deploy goes without commits) for the API metrics.
    api = "  api:\n    cloud_url: %s\n    token_env: BS_IT_BB_TOKEN\n" % bb.url
    cfg = cfg.replace("  secret_env: BS_IT_SECRET\n", "  secret_env: BS_IT_SECRET\n" + api, 1)
    # With a replica to wait for, the process polls its lag (redis_client.c).
    cfg = cfg.replace("  prefix: bstest\n", "  prefix: bstest\n  wait_replicas: 1\n  wait_timeout_ms: 2000\n", 1)
    cfg += "metrics_listen: 127.0.0.1:0\n"
    # A project learned from Sleuth (the GraphQL stand-in) for the
    # discovery metrics.
    gql = SleuthGraphQL(keys={"gql-key-for-the-stand-in": "acme"})
    gql.projects["payments"] = [code_source("pay-web", repo="acme/pay")]
    cfg = cfg.replace("  token_env: BS_IT_TOKEN\n", "  token_env: BS_IT_TOKEN\n  graphql_url: %s/graphql\n"
                      "  graphql_token_env: BS_IT_GQL_TOKEN\n" % gql.url, 1)
    cfg += "projects:\n  - {org: acme, project: payments, discover: true}\n"
    env = {"BS_IT_BB_TOKEN": "bb-token-for-the-stand-in", "BS_IT_GQL_TOKEN": "gql-key-for-the-stand-in"}
    H.wait_for(lambda: b"state=online" in (redis.cmd("INFO", "replication") or b"")
               and redis.cmd("SET", "bstest-probe", "1") == "OK" and redis.cmd("WAIT", 1, 1000) == 1,
               30, what="the replica online and acknowledging")
    ingest = H.Bitsleuth(cfg, mode="run", env_extra=env)
    worker = H.Bitsleuth(cfg, mode="work", workdir=ingest.dir, env_extra=env)
    try:
        body = H.read_fixture(PUSH)
        st, _, raw, _ = ingest.post("repo:push", body)
        assert st == 202, raw
        st, _, raw, _ = ingest.post("repo:push", body, secret="not-the-secret")
        assert st == 401, raw
        H.wait_for(lambda: len(sleuth.answered(200)) >= 1 and H.settled(redis), 30,
                   what="the push registered")
        assert bb.count() >= 1, "no Bitbucket API call was made"
        time.sleep(6)       # the queue gauges are cached for a second, the lag polled every 5 s

        have, scraped, notes = {}, [], []
        for bs in (ingest, worker):
            port = metrics_port(bs)
            if port is None and bs.mode != "work":
                notes.append("%s: no 'metrics on' line; scraped its ingest port" % bs.mode)
                port = bs.port
            if port is None:
                notes.append("%s: no 'metrics on' line: metrics_listen is not served" % bs.mode)
                continue
            text = scrape(port)
            scraped.append(bs.mode)
            for n, labels in parse_scrape(text).items():
                have.setdefault(n, set()).update(labels)

        used = {}   # name -> {label: [where]}, and where it is used
        where = {}
        dash = json.load(open(DASHBOARD))
        for origin, items in (("rules", rule_exprs()), ("dashboard", dashboard_exprs(dash))):
            for title, expr in items:
                for name, labels in names_in(expr).items():
                    if name in PROMETHEUS_OWN:
                        continue
                    where.setdefault(name, set()).add("%s: %s" % (origin, title))
                    used.setdefault(name, set()).update(labels - TARGET_LABELS)
        missing = sorted(n for n in used if n not in have)
        bad_labels = sorted("%s{%s}" % (n, l) for n in used if n in have and have[n]
                            for l in used[n] if l not in have[n])
        report = []
        for n in missing:
            report.append("  missing metric %s (used by %s)" % (n, "; ".join(sorted(where[n]))))
        for nl in bad_labels:
            report.append("  label not on any series: %s" % nl)
        for n in notes:
            report.append("  note: " + n)
        assert used and len(used) >= 25, used
        assert not missing and not bad_labels and "work" in scraped, (
            "scraped %s; %d of %d names missing:\n%s" % (", ".join(scraped) or "nothing", len(missing),
                                                        len(used), "\n".join(report)))
    finally:
        H.shutdown(redis, sleuth, worker, ingest)
        replica.close()
        gql.close()


def test_name_extraction():
    """names_in finds the metric names, not functions, labels or words."""
    got = names_in('histogram_quantile(0.99, sum by (le, outcome) (rate(a_b_bucket{job=~"$job",'
                   'outcome!="ok"}[$__rate_interval]))) / on() group_left c_total and d > 3 '
                   'or vector(0) unless e offset 5m')
    assert got == {"a_b_bucket": {"job", "outcome"}, "c_total": set(), "d": set(), "e": set()}, got
    fam = parse_scrape("# TYPE h histogram\nh_bucket{le=\"1\",o=\"x\"} 1\n# TYPE c counter\n"
                       "c_total{r=\"a\"} 2\nprocess_open_fds 5\n")
    assert fam["h_bucket"] == {"le", "o"} and "h_sum" in fam and "h_count" in fam, fam
    assert fam["c_total"] == {"r"} and "process_open_fds" in fam, fam


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
