#!/usr/bin/env python3
"""`bitsleuth dryrun` lists the deploys recorded instead of sent, newest
first, with their issue keys (the README quick start's demo delivery,
examples/demo/push-SHOP-1234.json, through a real `run`); `stats` counts
them and names an idle worker's consumer; a `dlq purge` preview exits 0."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H

DEMO = os.path.join(H.SOURCE_DIR, "examples", "demo", "push-SHOP-1234.json")
DEP = {"org": "acme", "deployment": "temp", "repository": "cloudbeers/temp", "branch": "main"}


def cli(bs, *args):
    out = subprocess.run([H.BIN] + list(args) + ["-c", bs.config], env=bs.env, capture_output=True,
                         timeout=60)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def start(extra=""):
    redis = H.RedisServer()
    sleuth = H.SleuthStandIn()
    cfg = H.make_config(redis.port, sleuth.url, [DEP], extra=extra).replace(
        "  dry_run: false", "  dry_run: true")
    return redis, sleuth, H.Bitsleuth(cfg)


def test_demo_delivery_listed_with_its_issue_key():
    redis, sleuth, bs = start()
    try:
        rc, out, err = cli(bs, "dryrun")
        assert rc == 0 and "no dry-run deploys recorded" in out, (rc, out, err)
        with open(DEMO, "rb") as f:
            body = f.read()
        hook = {"X-Hook-UUID": "{%s}" % ("7" * 32)}   # one webhook: its second push is queued
        st, js, raw, _ = bs.post("repo:push", body, headers=hook)
        assert st == 202, (st, raw)
        assert js["issues"] == ["SHOP-1234"], js
        H.wait_for(lambda: redis.cmd("XLEN", "{bstest}:dryrun") == 1, 15, what="the dry-run record")
        rc, out, err = cli(bs, "dryrun")
        assert rc == 0, err
        lines = out.splitlines()
        assert len(lines) == 2 and lines[0].startswith("TIME"), out
        sha = json.loads(body)["push"]["changes"][0]["new"]["target"]["hash"]
        assert "acme/temp/production" in lines[1] and sha[:12] in lines[1], out
        assert lines[1].split()[-1] == "SHOP-1234", out
        rc, out, err = cli(bs, "dryrun", "--json", "--limit", "5")
        assert rc == 0, err
        recs = json.loads(out)
        assert len(recs) == 1, recs
        r = recs[0]
        assert r["target"] == "acme/temp/production" and r["sha"] == sha, r
        assert r["issues"] == ["SHOP-1234"] and r["commits"] == 1, r   # the push's one commit
        assert r["url"].endswith("/api/1/deployments/acme/temp/register_deploy"), r
        assert r["delivery"] and r["job"] and r["time"].endswith("Z"), r
        assert not sleuth.requests, "dry_run sends nothing"

        # A second delivery: newest first, --limit cuts.
        st, _, raw, _ = bs.post("repo:push", body.replace(b"SHOP-1234", b"OPS-7"),
                                headers=hook)
        assert st == 202, raw
        H.wait_for(lambda: redis.cmd("XLEN", "{bstest}:dryrun") == 2, 15, what="the second record")
        rc, out, err = cli(bs, "dryrun", "--json")
        recs = json.loads(out)
        assert [x["issues"] for x in recs] == [["OPS-7"], ["SHOP-1234"]], recs
        rc, out, _ = cli(bs, "dryrun", "--json", "--limit", "1")
        assert [x["issues"] for x in json.loads(out)] == [["OPS-7"]], out
        rc, _, err = cli(bs, "dryrun", "--limit", "0")
        assert rc == 2 and "--limit" in err, err

        # stats: the dry-run count, and the worker's consumers although
        # none holds an entry now (XPENDING alone named none).
        H.wait_for(lambda: H.settled(redis), 15, what="settled")
        rc, out, err = cli(bs, "stats", "--json")
        assert rc == 0, err
        s = json.loads(out)
        assert s["dryrun"] == 2, s
        assert s["consumers"] and all(v == 0 for v in s["consumers"].values()), s
        assert set(s["consumers_idle_ms"]) == set(s["consumers"]), s
        rc, out, err = cli(bs, "stats")
        assert rc == 0 and "dry-run" in out and "2 recorded" in out, out
        assert "  consumer    " in out and "0 pending" in out, out

        # A purge preview is a success (exit 0), and deletes nothing.
        rc, out, err = cli(bs, "dlq", "purge", "1-0")
        assert rc == 0 and "would purge 1" in out, (rc, out, err)
    finally:
        H.shutdown(redis, sleuth, bs)


def test_issue_keys_from_the_links_when_issues_url_is_set():
    redis, sleuth, bs = start()
    bs.stop()
    with open(bs.config) as f:
        cfg = f.read()
    cfg = cfg.replace("  patterns: [jira]\n", "  patterns: [jira]\n  url: https://acme.atlassian.net/browse/{key}\n")
    bs2 = H.Bitsleuth(cfg)
    try:
        with open(DEMO, "rb") as f:
            body = f.read()
        st, _, raw, _ = bs2.post("repo:push", body)
        assert st == 202, raw
        H.wait_for(lambda: redis.cmd("XLEN", "{bstest}:dryrun") == 1, 15, what="the dry-run record")
        rc, out, err = cli(bs2, "dryrun", "--json")
        assert rc == 0, err
        assert json.loads(out)[0]["issues"] == ["SHOP-1234"], out
    finally:
        H.shutdown(redis, sleuth, bs2)


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
