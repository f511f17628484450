#!/usr/bin/env python3
"""Writes bench/push200.json: a Bitbucket Cloud repo:push to acme/shop's main
with 213 commits (about 200 KB), built from bench/push5.json's shape. It is
deterministic (no clock, no randomness): running it again gives the same
bytes. Every commit message carries Jira-style issue keys (SHOP-n, OPS-n,
some repeated across commits, as in real histories).

The new head hash is forty zeros, the hole bench/sign.lua fills with a
unique value per request (as in push5.json); the other hashes are made from
the commit number.

    bench/gen_big.py [OUT]        default bench/push200.json
"""
import copy
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
N_COMMITS = 213
WORDS = ("fix", "refactor", "speed up", "document", "test", "rename",
         "remove", "guard", "log", "retry", "cache", "validate")
THINGS = ("the cart total", "checkout", "the price rounding", "the search index",
          "session expiry", "the order export", "coupon codes", "the stock count",
          "invoice numbering", "the payment webhook", "tax lines", "the sitemap")


def sha(i):
    return "%040x" % (0x1000000 + i) if i else "0" * 40


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "push200.json")
    with open(os.path.join(HERE, "push5.json"), "rb") as f:
        base = json.load(f)
    change = base["push"]["changes"][0]
    proto = change["commits"][0]
    commits = []
    for i in range(N_COMMITS):
        c = copy.deepcopy(proto)
        c["hash"] = sha(i)
        key = "SHOP-%d" % (100 + i)
        body = ("%s %s.\n\nThe %s path now handles the case reported in OPS-%d; "
                "see also SHOP-%d for the follow-up and the discussion of the edge "
                "cases found while testing on staging. Refs %s.\n"
                % (WORDS[i % len(WORDS)].capitalize(), THINGS[i % len(THINGS)],
                   THINGS[(i * 7) % len(THINGS)], 7 + i % 40, 100 + i // 3, key))
        c["message"] = "%s: %s %s\n\n%s" % (key, WORDS[i % len(WORDS)],
                                           THINGS[i % len(THINGS)], body)
        c["date"] = "2026-11-20T%02d:%02d:00+00:00" % (10 + i // 60, i % 60)
        c["parents"] = [{"type": "commit", "hash": sha(i + 1)}]
        c["links"] = {
            "self": {"href": "https://api.bitbucket.org/2.0/repositories/acme/shop/commit/" + sha(i)},
            "html": {"href": "https://bitbucket.org/acme/shop/commits/" + sha(i)},
        }
        commits.append(c)
    change["commits"] = commits
    change["new"]["target"] = copy.deepcopy(commits[0])
    change["old"]["target"]["hash"] = sha(N_COMMITS)
    change["truncated"] = False
    data = json.dumps(base, ensure_ascii=False).encode()
    assert len(data) < 250 * 1024, len(data)
    assert data.count(b"0" * 40) >= 1
    with open(out, "wb") as f:
        f.write(data)
    print("%s: %d commits, %d bytes" % (out, N_COMMITS, len(data)))


if __name__ == "__main__":
    main()
