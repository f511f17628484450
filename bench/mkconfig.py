#!/usr/bin/env python3
"""Writes a bench config from examples/bitsleuth.yaml (the shipped defaults),
with only what a bench must change:

    bench/mkconfig.py OUT LISTEN_PORT PREFIX VARIANT REDIS_PORT [SLEUTH_PORT]

- every variant: listen 127.0.0.1:LISTEN_PORT, redis.url to 127.0.0.1:REDIS_PORT,
  redis.prefix PREFIX, the secret from $BENCH_SECRET, the token from
  $BENCH_TOKEN;
- shipped: the example as it is, plus a deployment for acme/shop's main (the
  repository the bench payloads push to);
- lean: shipped plus queue.content_dedupe: false and queue.raw_ttl: 0;
- noevents: shipped plus queue.events: false (no {p}:events, no
  {p}:deploys: what the streams for other programs cost, issue 15);
- e2e: 64 deployments acme/r0..r63 (branch main), sleuth.base_url
  http://127.0.0.1:SLEUTH_PORT, sleuth.dry_run false.
Run from the repository's root.
"""
import re
import sys

out, port, prefix, variant, rport = sys.argv[1:6]
sport = sys.argv[6] if len(sys.argv) > 6 else ""
y = open("examples/bitsleuth.yaml").read()


def sub(pattern, repl):
    global y
    y, n = re.subn(pattern, repl, y, count=1, flags=re.M)
    if n != 1:
        sys.exit("mkconfig.py: examples/bitsleuth.yaml has no line matching " + pattern)


sub(r"^listen:.*$", "listen: 127.0.0.1:%s" % port)
sub(r"^(\s+)url: redis://.*$", r"\g<1>url: redis://127.0.0.1:%s/0" % rport)
sub(r"^(\s+)prefix:.*$", r"\g<1>prefix: %s" % prefix)
sub(r"^(\s+)secret_env:.*$", r"\g<1>secret_env: BENCH_SECRET")
sub(r"^(\s+)token_env:.*$", r"\g<1>token_env: BENCH_TOKEN")
if variant == "e2e":
    sub(r"^(\s+)base_url:.*$", r"\g<1>base_url: http://127.0.0.1:%s" % sport)
    sub(r"^(\s+)dry_run: true.*$", r"\g<1>dry_run: false")
    y = y[:y.index("\ndeployments:")] + "\ndeployments:\n" + "".join(
        "  - {org: acme, deployment: r%d, repository: acme/r%d, branch: main, "
        "environment: production}\n" % (i, i) for i in range(64))
else:
    y += ("  - org: acme\n    deployment: shop\n    repository: acme/shop\n"
          "    branch: main\n    environment: production\n")
if variant == "lean":
    y += "\nqueue:\n  content_dedupe: false\n  raw_ttl: 0\n"
elif variant == "noevents":
    y += "\nqueue:\n  events: false\n"
elif variant not in ("shipped", "e2e"):
    sys.exit("mkconfig.py: unknown variant " + variant)
with open(out, "w") as f:
    f.write(y)
