"""Secrets from files (*_file keys, Docker and Kubernetes secrets) through
the real binary: a webhook secret read from a file verifies deliveries
(and wins over the *_env key written beside it), a Sleuth token read from
a file is the one sent; a missing, empty or too large file is reported at
the key's line and column; no secret text appears in any output."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

DEPLOY = [{"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}]
FILE_SECRET = "file-secret-Zq81x"
FILE_TOKEN = "file-token-Pw27c"

_tmp = tempfile.mkdtemp(prefix="bs-secrets-")
H._dirs.append(_tmp)


def secret_file(name, content, mode=0o600):
    path = os.path.join(_tmp, name)
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, mode)
    return path


def config(redis_port, sleuth_url, secret_path, token_path):
    text = H.make_config(redis_port, sleuth_url, DEPLOY)
    # The file beside the variable: the file wins (with a warning).
    text = text.replace("  secret_env: BS_IT_SECRET\n",
                        "  secret_env: BS_IT_SECRET\n  secret_file: %s\n" % secret_path)
    text = text.replace("  token_env: BS_IT_TOKEN\n", "  token_file: %s\n" % token_path)
    return text


def no_secret_in(text):
    for s in (FILE_SECRET, FILE_TOKEN, H.SECRET, H.TOKEN):
        assert s not in text, "a secret in the output:\n" + text[-3000:]


def check(path, *args):
    env = dict(os.environ, BS_IT_SECRET=H.SECRET, BS_IT_TOKEN=H.TOKEN)
    p = subprocess.run([H.BIN, "check", "-c", path] + list(args), capture_output=True, text=True,
                       env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_file_secrets_verify_deliveries_and_authorize_registrations():
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    sp = secret_file("webhook-secret", (FILE_SECRET + "\n").encode())
    tp = secret_file("sleuth-token", (FILE_TOKEN + "\n").encode())
    bs = H.Bitsleuth(config(redis.port, sleuth.url, sp, tp))
    try:
        body = H.read_fixture("drone-go-scm/cloud_repo-push_branch.json")
        # Signed with the variable's secret: refused, the file won.
        assert bs.post("repo:push", body, secret=H.SECRET)[0] == 401
        assert bs.post("repo:push", body, secret=FILE_SECRET)[0] == 202
        H.wait_for(lambda: len(sleuth.answered(200)) == 1, 20, what="the registration")
        auth = sleuth.requests[0]["headers"].get("authorization")
        assert auth == "Bearer " + FILE_TOKEN, "not the file's token (trailing newline dropped)"
        assert "bitbucket.secret_file and bitbucket.secret_env are both written: the file wins" in bs.log()
    finally:
        rc = bs.stop()
        bs.assert_clean_log()
        sleuth.close()
        redis.close()
    assert rc == 0, bs.log()[-3000:]
    no_secret_in(bs.log())
    rc, out, err = check(bs.config)
    assert rc == 0, (out, err)
    no_secret_in(out + err)


def test_file_problems_at_the_keys_line_and_column():
    tp = secret_file("token-ok", (FILE_TOKEN + "\n").encode())
    cases = [
        ("missing", os.path.join(_tmp, "no-such-file"), "cannot open '%s': No such file or directory"),
        ("empty", secret_file("empty", b"\n"), "'%s': empty"),
        ("big", secret_file("big", b"x" * (64 * 1024 + 1)), "'%s': larger than 64 KiB"),
        ("dir", _tmp, "'%s': not a regular file"),
    ]
    for name, path, msg in cases:
        cfg = os.path.join(_tmp, "cfg-%s.yaml" % name)
        with open(cfg, "w") as f:
            f.write(config(H.free_port(), "http://127.0.0.1:9", path, tp))
        # bitbucket.secret_file is line 10, its value at column 16.
        where = "%s:10:16: " % cfg
        rc, out, err = check(cfg, "--strict")
        assert rc == 1 and where + "error: bitbucket.secret_file: " + msg % path in err, (name, err)
        rc, out, err = check(cfg)
        if name == "missing":
            # A missing file is a secret not there yet: a warning for check.
            assert rc == 0 and where + "warning: bitbucket.secret_file: " + msg % path in err, (name, err)
        else:
            assert rc == 1 and where + "error: bitbucket.secret_file: " + msg % path in err, (name, err)
        no_secret_in(out + err)
        # serve refuses to start on it; work does not use the webhook secret.
        env = dict(os.environ, BS_IT_SECRET=H.SECRET)
        p = subprocess.run([H.BIN, "serve", "-c", cfg], capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 1 and where + "error: bitbucket.secret_file" in p.stderr, (name, p.stderr)
        no_secret_in(p.stdout + p.stderr)


def test_a_file_others_may_read_is_a_warning():
    sp = secret_file("open-secret", (FILE_SECRET + "\n").encode(), 0o644)
    tp = secret_file("token-ok2", (FILE_TOKEN + "\n").encode())
    cfg = os.path.join(_tmp, "cfg-open.yaml")
    with open(cfg, "w") as f:
        f.write(config(H.free_port(), "http://127.0.0.1:9", sp, tp))
    rc, out, err = check(cfg, "--strict")
    assert rc == 0, (out, err)
    assert re.search(r":10:16: warning: bitbucket\.secret_file: '.*open-secret' may be read by anyone "
                     r"\(mode 0644\): chmod 600 it", err), err
    no_secret_in(out + err)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
