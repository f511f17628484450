"""The command line through the real binary: help, check (--strict,
--print), scan, replay, stats, SIGHUP reload, -v/-q, --listen and its
environment override, unknown commands."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

DEPLOY = [{"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}]


def run(*args, env=None, stdin=None):
    e = dict(os.environ, BS_IT_SECRET=H.SECRET, BS_IT_TOKEN=H.TOKEN)
    if env:
        e.update(env)
    p = subprocess.run([H.BIN] + list(args), capture_output=True, env=e, timeout=60, input=stdin)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


_tmp = []


def write(text):
    """A file of the test's own in a temp dir of this process (removed at
    exit, like the harness's)."""
    if not _tmp:
        _tmp.append(tempfile.mkdtemp(prefix="bs-cli-"))
        H._dirs.append(_tmp[0])
    fd, path = tempfile.mkstemp(suffix=".yaml", dir=_tmp[0])
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


# A Redis port for configs whose command never connects (check, or run
# refusing the config): free when chosen, like every port of these tests.
# Their Sleuth, http://127.0.0.1:9 (discard), is never called either.
NO_REDIS_PORT = H.free_port()


def test_help_for_every_command():
    rc, out, _ = run("--help")
    assert rc == 0 and "usage: bitsleuth COMMAND" in out
    for cmd in ("run", "serve", "work", "check", "scan", "replay", "stats", "dlq"):
        rc, out, err = run(cmd, "--help")
        assert rc == 0 and out.startswith("usage: bitsleuth " + cmd), (cmd, out, err)
    rc, out, _ = run("--version")
    assert rc == 0 and out.startswith("bitsleuth ")
    rc, _, err = run("frobnicate")
    assert rc == 2 and "unknown command 'frobnicate'" in err


def test_check_reports_errors_with_lines():
    cfg = ("listen: 127.0.0.1:0\n"
           "redis:\n"
           "  url: redis://127.0.0.1:%d/0\n" % NO_REDIS_PORT +
           "  prefx: x\n"
           "sleuth:\n"
           "  base_url: ftp://nope\n"
           "  token: abc\n"
           "issues:\n"
           "  patterns: ['(unclosed']\n"
           "deployments:\n"
           "  - org: acme\n"
           "    repository: a/b\n"
           "    branch: main\n"
           "    environment: production\n")
    rc, out, err = run("check", "-c", write(cfg), env={"BITBUCKET_WEBHOOK_SECRET": "s"})
    assert rc == 1, (out, err)
    for line, text in ((4, "prefx"), (6, "base_url"), (7, "environment"), (9, "pattern"), (11, "deployment")):
        assert any((":%d:" % line) in l and "error" in l for l in err.splitlines()), (line, text, err)
    assert "did you mean" in err and "prefix" in err, err


def test_check_ok_and_explain_event():
    cfg = write(H.make_config(NO_REDIS_PORT, "http://127.0.0.1:9", DEPLOY))
    rc, out, err = run("check", "-c", cfg)
    assert rc == 0 and "ok" in out and "  acme/-/foo-web/production <- " in out, (out, err)
    assert "(push; deployments[0], line " in out, out
    fx = os.path.join(H.FIXTURES, "drone-go-scm/cloud_repo-push_branch.json")
    rc, out, err = run("check", "-c", cfg, "--explain-event", "repo:push", fx)
    assert rc == 0, err
    assert "POST http://127.0.0.1:9/api/1/deployments/acme/foo-web/register_deploy" in out, out
    body = json.loads(out.split("register_deploy\n", 1)[1].splitlines()[0])
    assert body["environment"] == "production" and len(body["sha"]) == 40


def test_check_names_the_redis_topology():
    env = {"BITBUCKET_WEBHOOK_SECRET": "s", "SLEUTH_API_TOKEN": "t"}
    ex = os.path.join(H.SOURCE_DIR, "examples")
    want = {
        "full.yaml": r"redis: +redis://127\.0\.0\.1:6379/0 \(keys \{bitsleuth\}:\*\)$",
        "full-sentinel.yaml": r"redis: +sentinel master mymaster via 3 sentinels, db 0 \(keys \{bitsleuth\}:\*\)$",
        "full-cluster.yaml": r"redis: +cluster, 3 seed nodes, 3 shards \(keys \{bitsleuth:0\}:\* \.\. \{bitsleuth:2\}:\*\)$",
    }
    for name, line in want.items():
        rc, out, err = run("check", "-c", os.path.join(ex, name), env=env)
        assert rc == 0 and "warning" not in err, (name, out, err)
        assert re.search("(?m)^" + line, out), (name, out)
        waits = "acknowledged writes wait for 1 replica (1000 ms)" in out
        assert waits == (name == "full-sentinel.yaml"), (name, out)
    cfg = H.make_config(NO_REDIS_PORT, "http://127.0.0.1:9", DEPLOY).replace(
        "  command_timeout_ms: 2000\n", "  command_timeout_ms: 2000\n  wait_replicas: 2\n  wait_timeout_ms: 750\n")
    rc, out, err = run("check", "-c", write(cfg))
    assert rc == 0, (out, err)
    assert "acknowledged writes wait for 2 replicas (750 ms)" in out, out


def test_explain_event_every_deployment_hit_with_its_body():
    deps = DEPLOY + [
        {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "mas*",
         "environment": "staging", "dry_run": True},
        {"org": "other", "deployment": "foo-api", "repository": "BRYDZEWSKI/foo", "branch": ["x", "master"],
         "environment": "production", "token_env": "BS_IT_TOKEN2"},
        {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "develop",
         "environment": "dev"},
    ]
    cfg = write(H.make_config(NO_REDIS_PORT, "http://127.0.0.1:9", deps))
    fx = os.path.join(H.FIXTURES, "drone-go-scm/cloud_repo-push_branch.json")   # master
    rc, out, err = run("check", "-c", cfg, "--explain-event", "repo:push", fx, env={"BS_IT_TOKEN2": "t2"})
    assert rc == 0, err
    assert "== 3 deploys" in out, out
    posts = [l for l in out.splitlines() if l.startswith("POST ")]
    assert posts == ["POST http://127.0.0.1:9/api/1/deployments/acme/foo-web/register_deploy",
                     "POST http://127.0.0.1:9/api/1/deployments/acme/foo-web/register_deploy",
                     "POST http://127.0.0.1:9/api/1/deployments/other/foo-api/register_deploy"], out
    bodies = [json.loads(b.split("\n", 1)[1].splitlines()[0]) for b in out.split("register_deploy")[1:]]
    assert [b["environment"] for b in bodies] == ["production", "staging", "production"], bodies
    # Only the pattern match carries the branch Sleuth needs.
    assert [b.get("branch") for b in bodies] == [None, "master", None], bodies
    for b in bodies:
        assert b["ignore_if_duplicate"] == "true" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", b["date"]) and len(b["sha"]) == 40, b
    notes = [l for l in out.splitlines() if l.startswith("# ")]
    assert "acme/foo-web/staging" in notes[1] and "dry run" in notes[1] and "matched by a pattern" in notes[1], notes
    assert "other/foo-api/production" in notes[2] and "$BS_IT_TOKEN2" in notes[2] and "would be sent" in notes[2], notes
    assert "t2" not in out and H.TOKEN not in out, "token values are never printed"
    # An event nobody maps: no deploys, exit 0; a malformed payload: the refusal, exit 1.
    fx2 = os.path.join(H.FIXTURES, "drone-go-scm/cloud_repo-push_branch-created.json")   # develop
    rc, out, err = run("check", "-c", write(H.make_config(NO_REDIS_PORT, "http://127.0.0.1:9", DEPLOY)),
                       "--explain-event", "repo:push", fx2)
    assert rc == 0 and "== 0 deploys" in out, (out, err)
    rc, out, err = run("check", "-c", cfg, "--explain-event", "repo:push", write("{\"a\":"),
                       env={"BS_IT_TOKEN2": "t2"})
    assert rc == 1 and out.startswith("400 bad_json"), (out, err)


def test_check_warns_on_what_is_legal_but_suspicious():
    cfg = ("bitbucket:\n"
           "  secret_env: BS_IT_UNSET_SECRET\n"
           "  allow_unsigned: true\n"
           "sleuth:\n"
           "  token_env: BS_IT_UNSET_TOKEN\n"
           "  dry_run: true\n"
           "http:\n"
           "  max_body: 100KiB\n"
           "issues:\n"
           "  patterns: ['ZZZ_[0-9]+_QQQ']\n"
           "deployments:\n"
           "  - org: acme\n"
           "    deployment: shop-web\n"
           "    repository: acme/shop\n"
           "    branch: \"feature one\"\n"
           "    environment: production\n"
           "  - {org: acme, deployment: shop-web, repository: acme/shop, branch: main, environment: production}\n")
    path = write(cfg)
    rc, out, err = run("check", "-c", path)
    assert rc == 0 and "ok" in out, (out, err)
    want = [
        (3, "environment variable BS_IT_UNSET_SECRET (bitbucket.secret_env) is not set: with allow_unsigned: true"),
        (5, "environment variable BS_IT_UNSET_TOKEN (sleuth.token_env) is not set: fine while"),
        (8, "http.max_body: 102400 bytes is below 256 KiB"),
        (10, "issues.patterns[0]: issue pattern 0 matches nothing in the sample text"),
        (15, "deployments[0].branch: 'feature one' can never match"),
        (17, "deployments[1]: same org, deployment and environment as the deployment at line 12"),
    ]
    lines = err.splitlines()
    for line, text in want:
        assert any(l.startswith("%s:%d:" % (path, line)) and ": warning: " in l and text in l for l in lines), \
            (line, text, err)
    assert "error" not in err, err


def test_run_refuses_an_unsafe_config():
    base = H.make_config(NO_REDIS_PORT, "http://127.0.0.1:9", DEPLOY)
    # No webhook secret and no allow_unsigned: true.
    rc, out, err = run("run", "-c", write(base), env={"BS_IT_SECRET": ""})
    assert rc == 1, (out, err)
    assert "BS_IT_SECRET (bitbucket.secret_env) is not set" in err and "allow_unsigned: true" in err, err
    # A token written into the file, as a key or as a *_env value.
    rc, out, err = run("run", "-c", write(base.replace("  token_env: BS_IT_TOKEN\n", "  token: abc123\n")))
    assert rc == 1 and ":12:3: error: sleuth.token: secrets come from the environment: use token_env" in err, err
    assert "abc123" not in err
    rc, out, err = run("serve", "-c", write(base.replace("token_env: BS_IT_TOKEN", "token_env: fQ29xL7pKd0sW3mZr8Tb")))
    assert rc == 1 and "sleuth.token_env: names no set variable and looks like the secret itself" in err, err
    rc, out, err = run("work", "-c", write(base.replace("token_env: BS_IT_TOKEN", "token_env: \"abc-def.123\"")))
    assert rc == 1 and "sleuth.token_env: must name an environment variable" in err, err


def test_each_command_needs_only_its_own_secrets():
    """serve holds no Sleuth token, work no webhook secret, and the operator's
    stats and dlq need neither: a push still goes the whole way."""
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    cfg = H.make_config(redis.port, sleuth.url, DEPLOY)
    serve = H.Bitsleuth(cfg, mode="serve", env_extra={"BS_IT_TOKEN": ""})
    work = H.Bitsleuth(cfg, mode="work", env_extra={"BS_IT_SECRET": ""})
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        st, js, raw, _ = serve.post("repo:push", body, delivery="{split-1}")
        assert st == 202, raw
        H.wait_for(lambda: len(sleuth.requests) == 1, 15, what="registered by the worker")
        assert sleuth.requests[0]["headers"].get("authorization") == "Bearer " + H.TOKEN
        bare = {"BS_IT_SECRET": "", "BS_IT_TOKEN": ""}
        for args in (("stats",), ("dlq", "list")):
            rc, out, err = run(*args, "-c", serve.config, env=bare)
            assert rc == 0, (args, out, err)
            assert "not set" not in err, (args, err)
        # run needs both, and says so.
        rc, out, err = run("run", "-c", serve.config, env={"BS_IT_TOKEN": ""})
        assert rc == 1 and "BS_IT_TOKEN (sleuth.token_env) is not set" in err, err
    finally:
        serve.stop()
        work.stop()
        serve.assert_clean_log()
        work.assert_clean_log()
        sleuth.close()
        redis.close()


def test_scan():
    rc, out, _ = run("scan", "Fix SHOP-12 and OPS-7; not ABC-0 or xABC-1")
    assert rc == 0 and out.split() == ["SHOP-12", "OPS-7"], out
    rc, out, _ = run("scan", "--explain", "-", stdin=b"feature/SHOP-12-login")
    assert rc == 0 and "SHOP-12" in out and "pattern jira" in out, out


def test_replay_event_and_kept_delivery():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, DEPLOY))
    try:
        fx = os.path.join(H.FIXTURES, "drone-go-scm/cloud_repo-push_branch.json")
        rc, out, err = run("replay", "-c", bs.config, "--log", "--json")
        assert rc == 0 and json.loads(out) == [], (out, err)      # no stream yet: empty
        before_ms = int(time.time() * 1000)
        rc, out, err = run("replay", "-c", bs.config, "--event", "repo:push", fx)
        assert rc == 0 and out.startswith("queued:"), (out, err)
        payload_delivery, payload_job = out.split()[2], out.split()[5].rstrip(",")
        H.wait_for(lambda: len(sleuth.requests) == 1, 15, what="replayed payload registered")
        rc, out, err = run("replay", "-c", bs.config, "--event", "repo:push", fx)
        assert rc == 0 and out.startswith("duplicate"), (out, err)
        # A live delivery is kept raw; replay it through today's parser.
        payload = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
        payload["push"]["changes"][0]["new"]["target"]["hash"] = "e" * 40
        st, js, raw, _ = bs.post("repo:push", json.dumps(payload), delivery="{kept-1}")
        assert st == 202, raw
        H.wait_for(lambda: len(sleuth.requests) == 2, 15, what="live delivery registered")
        rc, out, err = run("replay", "-c", bs.config, "--delivery", "{kept-1}")
        assert rc == 0 and "queued" in out and "{kept-1}.replay." in out, (out, err)
        kept_delivery, kept_job = out.split()[2], out.split()[5].rstrip(",")
        H.wait_for(lambda: len(sleuth.requests) == 3, 15, what="kept delivery registered again")
        assert redis.cmd("XLEN", "{bstest}:replays") == 2
        # The replay log, newest first; the duplicate was not a replay.
        who = H.actor()
        rc, out, err = run("replay", "-c", bs.config, "--log", "--json")
        assert rc == 0, (out, err)
        log = json.loads(out)
        assert [(r["kind"], r["what"], r["job"], r["who"]) for r in log] == [
            ("delivery", kept_delivery, kept_job, who),
            ("payload", payload_delivery, payload_job, who)], log
        assert kept_delivery.startswith("{kept-1}.replay."), kept_delivery
        assert all(set(r) == {"id", "kind", "who", "when_ms", "what", "job"} for r in log), log
        assert before_ms <= int(log[1]["when_ms"]) <= int(log[0]["when_ms"]) <= time.time() * 1000, log
        rc, out, _ = run("replay", "-c", bs.config, "--log", "--json", "--limit", "1")
        assert rc == 0 and json.loads(out) == log[:1], out
        rc, out, _ = run("replay", "-c", bs.config, "--log", "--json", "--since", "1h")
        assert rc == 0 and json.loads(out) == log, out
        rc, out, err = run("replay", "-c", bs.config, "--log")
        assert rc == 0, (out, err)
        lines = out.splitlines()
        assert len(lines) == 2 and lines[0].split()[1:] == [who, "delivery", kept_delivery, "->", "job", kept_job], out
        assert lines[1].split()[2:] == ["payload", payload_delivery, "->", "job", payload_job], out
        iso = [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(r["when_ms"]) // 1000)) +
               ".%03dZ" % (int(r["when_ms"]) % 1000) for r in log]
        assert [ln.split()[0] for ln in lines] == iso, (out, iso)
        for bad in (("--log", "--event", "repo:push", fx), ("--log", "--delivery", "{kept-1}"),
                    ("--log", "--limit", "0"), ("--log", "--limit", "1001"), ("--log", "--since", "soon"),
                    ("--json",), ("--since", "1h", "--event", "repo:push", fx)):
            rc, out, err = run("replay", "-c", bs.config, *bad)
            assert rc == 2 and err.strip() and not out, (bad, rc, out, err)
        rc, out, err = run("replay", "-c", bs.config, "--delivery", "{never}")
        assert rc == 1 and "no raw delivery" in err, (out, err)
        rc, out, err = run("stats", "-c", bs.config, "--json")
        assert rc == 0, err
        st = json.loads(out)
        assert st["counters"]["queued"] == 3 and st["dead"] == 0, st
        rc, out, err = run("stats", "-c", bs.config)
        assert rc == 0 and "jobs stream" in out and "dead letters" in out, out
    finally:
        bs.stop()
        bs.assert_clean_log()
        sleuth.close()
        redis.close()


def test_sighup_reload_good_and_bad():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, DEPLOY))
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch-created.json")  # branch develop
        assert bs.post("repo:push", body, delivery="{hup-1}")[0] == 202
        time.sleep(1.0)
        assert sleuth.requests == [], "develop is not configured yet"
        # A bad config is refused and the old one stays.
        with open(bs.config, "a") as f:
            f.write("bogus_key: 1\n")
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: "reload of" in bs.log() and "refused" in bs.log(), 10, what="refused reload")
        assert "bogus_key: unknown key" in bs.log(), "the reason is logged"
        # The old config still runs: a push to master is registered as before.
        payload = json.loads(H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))
        payload["push"]["changes"][0]["new"]["target"]["hash"] = "d" * 40
        assert bs.post("repo:push", json.dumps(payload), delivery="{hup-old}")[0] == 202
        H.wait_for(lambda: len(sleuth.requests) == 1, 15, what="registration under the kept config")
        assert sleuth.requests[0]["json"]["sha"] == "d" * 40
        assert sleuth.requests[0]["path"].endswith("/acme/foo-web/register_deploy")
        del sleuth.requests[:]
        # A good one adds the develop deployment.
        deps = DEPLOY + [{"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo",
                          "branch": "develop", "environment": "dev"}]
        with open(bs.config, "w") as f:
            f.write(H.make_config(redis.port, sleuth.url, deps))
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: "reloaded" in bs.log(), 10, what="reload")
        payload = json.loads(body)
        payload["push"]["changes"][0]["new"]["target"]["hash"] = "f" * 40
        assert bs.post("repo:push", json.dumps(payload), delivery="{hup-2}")[0] == 202
        H.wait_for(lambda: len(sleuth.requests) == 1, 15, what="registration under the new config")
        assert sleuth.requests[0]["json"]["environment"] == "dev"
    finally:
        bs.stop()
        bs.assert_clean_log()
        sleuth.close()
        redis.close()


def test_sighup_topology_wait_and_shards_need_a_restart():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, DEPLOY))
    try:
        with open(bs.config, "w") as f:
            f.write(H.make_config(redis.port, sleuth.url, DEPLOY, extra=(
                "queue:\n  shards: 2\n"
                "worker:\n  concurrency: 8\n")).replace(
                "  command_timeout_ms: 2000\n", "  command_timeout_ms: 2000\n  wait_replicas: 1\n"))
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: "reloaded" in bs.log(), 10, what="reload")
        log = bs.log()
        assert re.search(r"changes of redis\.wait_replicas/wait_timeout_ms, queue\.shards need a "
                         r"restart; until then the running values stay", log), log[-3000:]
        # Still one shard and no WAIT (the standalone test Redis has no
        # replica): a push is registered as before.
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        assert bs.post("repo:push", body, delivery="{hup-shards}")[0] == 202
        H.wait_for(lambda: len(sleuth.requests) == 1, 15, what="registration after the reload")
        assert redis.cmd("EXISTS", "{bstest}:raw:{hup-shards}") == 1
    finally:
        bs.stop()
        bs.assert_clean_log()
        sleuth.close()
        redis.close()


def test_sighup_mid_flight_finishes_under_the_old_config():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()

    in_flight = threading.Event()

    def slow(req):
        in_flight.set()
        time.sleep(2.0)
        return (200, "Success", {})
    sleuth.responder = slow
    # The answer's 2 s stay well inside the call's timeout on a loaded
    # machine: a timeout would make it a retry, not the in-flight finish.
    bs = H.Bitsleuth(H.make_config(redis.port, sleuth.url, DEPLOY, sleuth_timeout_ms=10000))
    try:
        assert bs.post("repo:push", H.read_fixture("drone-go-scm/cloud_repo-push_branch.json"))[0] == 202
        # The registration is in flight (its answer takes 2 s), however
        # long it took to get there.
        H.wait_for(in_flight.is_set, 15, what="the registration to reach Sleuth")
        other = [{"org": "acme", "deployment": "other", "repository": "x/y", "branch": "main"}]
        with open(bs.config, "w") as f:
            f.write(H.make_config(redis.port, sleuth.url, other, sleuth_timeout_ms=10000))
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: "reloaded" in bs.log(), 10, what="reload")
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 15, what="in-flight registration to finish")
        H.wait_for(lambda: redis.cmd("XLEN", "{bstest}:jobs") == 0, 10, what="acknowledged")
        assert sleuth.requests[0]["path"].endswith("/acme/foo-web/register_deploy")
        assert redis.cmd("XLEN", "{bstest}:dead") == 0 and redis.cmd("ZCARD", "{bstest}:retry") == 0
        # The job was finished (answer judged, acknowledged) under the old
        # mapping, not matched again under the new one.
        H.wait_for(lambda: "-> acme/foo-web/production: registered sha" in bs.log(), 5, what="registered log")
        assert "no configured deployment matches" not in bs.log(), bs.log()[-3000:]
        assert len(sleuth.requests) == 1, sleuth.requests
    finally:
        bs.stop()
        bs.assert_clean_log()
        sleuth.close()
        redis.close()


# ------------------------------------------------------------ issue 14 flags

class Flagged(H.Bitsleuth):
    """bitsleuth MODE -c CONFIG with extra arguments; with port (the
    address given by --listen or BITSLEUTH_LISTEN) it is up once /healthz
    answers there, since -q hides the "listening on" line."""

    def __init__(self, config_text, args=(), port=None, **kw):
        self.args = list(args)
        self.fixed_port = port
        super().__init__(config_text, **kw)

    def start(self):
        self.killed = False
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([H.BIN, self.mode, "-c", self.config] + self.args,
                                     stdout=self.logf, stderr=subprocess.STDOUT, env=self.env)
        H._procs.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                H.fail("bitsleuth %s exited early with %s:\n%s" % (self.mode, self.proc.returncode, self.log()))
            if self.fixed_port:
                try:
                    return H.http_request(self.fixed_port, "GET", "/healthz", None, {}, timeout=2)[0] == 200
                except OSError:
                    return False
            m = re.search(r"listening on http://[^:]+:(\d+)", self.log())
            return m and int(m.group(1))
        got = H.wait_for(up, 20, what="bitsleuth to answer")
        self.port = self.fixed_port or got


LEVEL_LINE = re.compile(r"(?m)^\S+Z (debug|info|warn|error) ")


def levels(log):
    return set(LEVEL_LINE.findall(log))


def push_and_register(redis, sleuth, bs):
    body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
    assert bs.post("repo:push", body)[0] == 202
    H.wait_for(lambda: len(sleuth.answered(200)) >= 1, 20, what="registration")
    H.wait_for(lambda: redis.cmd("XLEN", "{bstest}:jobs") == 0, 10, what="acknowledged")


def test_unknown_command_and_no_arguments():
    rc, out, err = run("bogus")
    assert rc == 2 and out == "", (rc, out, err)
    assert err == "bitsleuth: unknown command 'bogus' (see bitsleuth --help)\n", err
    rc, out, err = run()
    assert rc == 2 and out == "" and "usage: bitsleuth COMMAND" in err, (rc, out, err)


def test_verbose_wins_over_log_level_and_survives_sighup():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    text = H.make_config(redis.port, sleuth.url, DEPLOY).replace("log_level: debug", "log_level: error")
    bs = Flagged(text, args=["-v"])
    try:
        push_and_register(redis, sleuth, bs)
        # Debug and info lines although the file says error.
        H.wait_for(lambda: {"debug", "info"} <= levels(bs.log()), 10, what="debug and info lines")
        bs.signal(signal.SIGHUP)
        H.wait_for(lambda: "reloaded" in bs.log(), 10, what="reload")
        mark = len(bs.log())
        # The same push again: a duplicate (200), logged at info.
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        assert bs.post("repo:push", body)[0] == 200
        # After the reload (log_level: error applied again) -v still wins.
        H.wait_for(lambda: "is a duplicate of job" in bs.log()[mark:], 10, what="an info line after the reload")
    finally:
        assert bs.stop() == 0, bs.log()[-3000:]
        bs.assert_clean_log()
        sleuth.close()
        redis.close()


def test_quiet_hides_info_and_debug_lines():
    logs = {}
    # The same run without -q first (its own Redis and Sleuth): it logs
    # both, so the flag is what makes the difference below.
    for flags in ([], ["-q"]):
        redis = H.RedisServer()
        sleuth = H.SleuthStandIn()
        port = H.free_port()
        text = H.make_config(redis.port, sleuth.url, DEPLOY)   # log_level: debug
        bs = Flagged(text, args=flags + ["--listen", "127.0.0.1:%d" % port], port=port)
        try:
            push_and_register(redis, sleuth, bs)
        finally:
            assert bs.stop() == 0, bs.log()[-3000:]
            bs.assert_clean_log()
            sleuth.close()
            redis.close()
        logs[bool(flags)] = bs.log()
    plain, quiet = logs[False], logs[True]
    assert {"debug", "info"} <= levels(plain), plain[-3000:]
    assert "listening on" in plain and "registered sha" in plain, plain[-3000:]
    assert not levels(quiet) & {"debug", "info"}, quiet[-3000:]
    assert "listening on" not in quiet and "registered sha" not in quiet, quiet[-3000:]


def test_listen_flag_wins_over_environment_wins_over_file():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    text = H.make_config(redis.port, sleuth.url, DEPLOY)   # listen: 127.0.0.1:0
    p_env, p_flag = H.free_port(), H.free_port()
    env = {"BITSLEUTH_LISTEN": "127.0.0.1:%d" % p_env}
    procs = []
    try:
        a = Flagged(text, env_extra=env)
        procs.append(a)
        assert a.port == p_env, (a.port, p_env)
        push_and_register(redis, sleuth, a)
        assert a.stop() == 0
        b = Flagged(text, args=["--listen", "127.0.0.1:%d" % p_flag], env_extra=env)
        procs.append(b)
        assert b.port == p_flag, (b.port, p_flag)
        assert b.stop() == 0
        # check applies the variable too, and --print shows it.
        rc, out, err = run("check", "-c", a.config, "--print", "listen", env=env)
        assert rc == 0 and out == "127.0.0.1:%d\n" % p_env, (rc, out, err)
    finally:
        for p in procs:
            p.stop()
            p.assert_clean_log()
        sleuth.close()
        redis.close()
    cfg = write(H.make_config(NO_REDIS_PORT, "http://127.0.0.1:9", DEPLOY))
    rc, out, err = run("run", "-c", cfg, "--listen", "localhost")
    assert rc == 1 and "--listen (overriding listen): expected host:port like 127.0.0.1:8080, got 'localhost'" in err, err
    rc, out, err = run("serve", "-c", cfg, env={"BITSLEUTH_LISTEN": "127.0.0.1:99999"})
    assert rc == 1 and "BITSLEUTH_LISTEN (overriding listen): expected host:port" in err, err
    rc, out, err = run("work", "-c", cfg, "--metrics-listen", "nope")
    assert rc == 1 and "--metrics-listen (overriding metrics_listen): expected host:port" in err, err
    rc, out, err = run("work", "-c", cfg, "--listen", "127.0.0.1:1")
    assert rc == 2 and "--listen is for run and serve" in err, err


def test_check_warns_on_unset_secrets_unless_strict():
    example = os.path.join(H.SOURCE_DIR, "examples", "bitsleuth.yaml")
    fresh = {k: v for k, v in os.environ.items() if k not in ("BITBUCKET_WEBHOOK_SECRET", "SLEUTH_API_TOKEN")}

    def bare(*args):
        p = subprocess.run([H.BIN] + list(args), capture_output=True, text=True, env=fresh, timeout=60)
        return p.returncode, p.stdout, p.stderr
    rc, out, err = bare("check", "-c", example)
    assert rc == 0 and "ok" in out, (out, err)
    assert re.search(r"(?m)^.*bitsleuth\.yaml:\d+:\d+: warning: environment variable BITBUCKET_WEBHOOK_SECRET", err), err
    assert "refuse to start" in err and "error" not in err.replace("an error", ""), err
    rc, out, err = bare("check", "--strict", "-c", example)
    assert rc == 1, (out, err)
    assert re.search(r"(?m)^.*bitsleuth\.yaml:\d+:\d+: error: environment variable BITBUCKET_WEBHOOK_SECRET", err), err
    # The daemon still refuses to start without the secret it uses.
    rc, out, err = bare("serve", "-c", example)
    assert rc == 1 and "error: environment variable BITBUCKET_WEBHOOK_SECRET" in err, err


def test_check_print_one_key():
    env = {"BITBUCKET_WEBHOOK_SECRET": "", "SLEUTH_API_TOKEN": ""}   # no secret needed
    flow = write("redis: {url: 'unix:///run/redis/redis.sock', prefix: shop}\n"
                 "queue: {shards: 4}\nmetrics_listen: 127.0.0.1:9100\n")
    for key, want in (("redis.url", "unix:///run/redis/redis.sock"), ("redis.prefix", "shop"),
                      ("queue.shards", "4"), ("listen", "127.0.0.1:8080"),
                      ("metrics_listen", "127.0.0.1:9100"), ("sleuth.dry_run", "false"),
                      ("redis.command_timeout_ms", "5000ms")):
        rc, out, err = run("check", "-c", flow, "--print", key, env=env)
        assert rc == 0 and out == want + "\n" and err == "", (key, rc, out, err)
    sentinel = os.path.join(H.SOURCE_DIR, "examples", "full-sentinel.yaml")
    rc, out, err = run("check", "-c", sentinel, "--print", "redis.url", env=env)
    assert rc == 0 and out == "\n", (rc, out, err)
    rc, out, err = run("check", "-c", flow, "--print", "redis.nope", env=env)
    assert rc == 2 and out == "" and "unknown key 'redis.nope'" in err, (rc, out, err)
    rc, out, err = run("check", "-c", flow, "--print", "issues.patterns", env=env)
    assert rc == 2 and out == "" and "not a scalar key" in err, (rc, out, err)
    bad = write("redis: {prefx: x}\n")
    rc, out, err = run("check", "-c", bad, "--print", "redis.url", env=env)
    assert rc == 1 and out == "" and "did you mean" in err, (rc, out, err)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
