"""`cmake --install` places a working binary and the example configs: the
installed bitsleuth, on the installed example config, takes a real signed
push and records its dry-run deploy in a real Redis."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

BUILD_DIR = os.path.dirname(os.path.abspath(H.BIN))


def install(prefix):
    cmake = shutil.which("cmake")
    assert cmake, "cmake not found"
    p = subprocess.run([cmake, "--install", BUILD_DIR, "--prefix", prefix],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_install_places_binary_and_examples():
    prefix = tempfile.mkdtemp(prefix="bs-install-")
    try:
        out = install(prefix)
        binary = os.path.join(prefix, "bin", "bitsleuth")
        assert os.access(binary, os.X_OK), out
        share = os.path.join(prefix, "share", "bitsleuth")
        for name in ("bitsleuth.yaml", "full.yaml", "compose.yaml", "full-sentinel.yaml",
                     "full-cluster.yaml", "compose-ha.yaml", "stunnel-redis.conf"):
            assert os.path.isfile(os.path.join(share, name)), (name, out)
        v = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        assert v.returncode == 0 and v.stdout.startswith("bitsleuth "), v
        env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET=H.SECRET)
        c = subprocess.run([binary, "check", "-c", os.path.join(share, "bitsleuth.yaml")],
                           capture_output=True, text=True, env=env, timeout=30)
        assert c.returncode == 0, c.stdout + c.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def test_installed_binary_runs_the_example_config():
    prefix = tempfile.mkdtemp(prefix="bs-install-")
    redis = H.RedisServer()
    proc = None
    try:
        install(prefix)
        with open(os.path.join(prefix, "share", "bitsleuth", "bitsleuth.yaml")) as f:
            text = f.read()
        # The example as shipped, on a free port and the test's Redis.
        text = re.sub(r"(?m)^listen: .*$", "listen: 127.0.0.1:0", text)
        text = re.sub(r"redis://127\.0\.0\.1:6379/0", "redis://127.0.0.1:%d/0" % redis.port, text)
        saved_bin = H.BIN
        H.BIN = os.path.join(prefix, "bin", "bitsleuth")
        try:
            proc = H.Bitsleuth(text, env_extra={"BITBUCKET_WEBHOOK_SECRET": H.SECRET})
        finally:
            H.BIN = saved_bin
        body = H.read_fixture("jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_update.json")
        status, reply = proc.post("repo:push", body)[:2]
        assert status == 202, (status, reply)
        H.wait_for(lambda: H.stream_len(redis, "{bitsleuth}:dryrun") >= 1, 30,
                   what="the dry-run deploy of the installed binary")
        entry = redis.cmd("XRANGE", "{bitsleuth}:dryrun", "-", "+")[0][1]
        fields = {k.decode(): v.decode("utf-8", "replace") for k, v in zip(entry[::2], entry[1::2])}
        assert fields.get("target") == "acme/temp/production", fields
        sha = json.loads(fields["body"])["sha"]
        assert re.fullmatch(r"[0-9a-f]{40}", sha), fields
    finally:
        try:
            if proc:
                rc = proc.stop()
                proc.assert_clean_log()
                assert rc == 0, proc.log()[-3000:]
        finally:
            redis.close()
            shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    H.run_tests([
        ("install places the binary and the example configs", test_install_places_binary_and_examples),
        ("the installed binary runs the example config", test_installed_binary_runs_the_example_config),
    ])
