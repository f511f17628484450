#!/usr/bin/python3
"""An example reader of bitsleuth's {p}:events (or {p}:deploys) streams,
with a consumer group of its own (README "Reading the queue";
examples/consumers/README.md).

    consumer.py [--redis URL|HOST:PORT] [--stream KEY]... [--group G]
                [--consumer NAME] [--count N] [--idle-exit SECONDS]

It prints one line per entry, then acknowledges it:

    <stream> <entry id> <delivery> <event|kind> <repository|target> keys=K1,K2

At least once: an entry printed but not acknowledged when the program
died is printed again by the next run with the same --consumer name, which
first re-reads its own pending entries. Needs only Debian's python3-redis
(4.3) and python3-msgpack. The password, if any, comes from the variable
named by --password-env (default REDIS_PASSWORD)."""
import argparse
import json
import os
import signal
import socket
import sys
import time

import msgpack
import redis

RECORD_MAJOR = 1   # the `v` this reader understands; it ignores unknown keys
BATCH = 50         # entries per XREADGROUP
BLOCK_MS = 1000    # longest wait per XREADGROUP: SIGTERM is seen within it

stopping = False


def on_signal(signum, frame):
    global stopping
    stopping = True


def connect(where, password):
    if "://" in where:
        return redis.Redis.from_url(where, password=password or None, socket_timeout=10)
    host, _, port = where.rpartition(":")
    return redis.Redis(host=host or "127.0.0.1", port=int(port or 6379), password=password or None,
                       socket_timeout=10)


def decode(fields):
    """The entry's record (a dict), from `data` in its `format`."""
    data, fmt = fields.get(b"data"), fields.get(b"format", b"msgpack")
    if data is None:
        raise ValueError("no data field")
    if fmt == b"msgpack":
        return msgpack.unpackb(data, raw=False)
    if fmt == b"json":
        return json.loads(data)
    raise ValueError("unknown format %r" % fmt)


def describe(stream, entry_id, fields, record):
    """One line. Events have `event` and `repository`, deploy outcomes
    `kind` and `target`; both have `delivery` and issue keys (maps with
    a `key` on events, plain strings on deploys)."""
    f = {k.decode(): v.decode("utf-8", "replace") for k, v in fields.items() if k != b"data"}
    if "kind" in f:
        what, where = f["kind"], f.get("target")
    else:
        what, where = f.get("event"), f.get("repository")
    keys = [k["key"] if isinstance(k, dict) else k for k in record.get("keys") or []]
    return "%s %s %s %s %s keys=%s" % (stream, entry_id, f.get("delivery") or "-", what or "-",
                                        where or "-", ",".join(keys) or "-")


def handle(stream, entry_id, fields):
    """What a real consumer does with an entry; it must be idempotent
    (key on the delivery or the entry id): it may see an entry twice."""
    if not fields:   # trimmed away while it was pending: nothing to read
        print("%s %s (trimmed)" % (stream, entry_id), file=sys.stderr)
        return
    try:
        record = decode(fields)
    except Exception as e:
        print("%s %s: cannot decode: %s" % (stream, entry_id, e), file=sys.stderr)
        return
    if not isinstance(record, dict) or record.get("v") != RECORD_MAJOR:
        print("%s %s: not a version %d record, skipped" % (stream, entry_id, RECORD_MAJOR), file=sys.stderr)
        return
    print(describe(stream, entry_id, fields, record), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis", default="127.0.0.1:6379", help="redis://… URL or HOST:PORT")
    ap.add_argument("--password-env", default="REDIS_PASSWORD")
    ap.add_argument("--stream", action="append", help="a stream key, once per shard "
                    "(default {bitsleuth}:events)")
    ap.add_argument("--group", default="example-py")
    ap.add_argument("--consumer", default=socket.gethostname())
    ap.add_argument("--count", type=int, default=0, help="exit after N entries")
    ap.add_argument("--idle-exit", type=float, default=0, help="exit when nothing came for SECONDS")
    a = ap.parse_args()
    streams = a.stream or ["{bitsleuth}:events"]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    r = connect(a.redis, os.environ.get(a.password_env))
    for s in streams:
        try:
            r.xgroup_create(s, a.group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):   # the group exists: resume where it is
                raise

    # "0": this consumer's pending entries (read, never acknowledged) from
    # the start; once a stream has none left, ">": entries nobody in the
    # group has been given yet.
    cursor = {s: "0" for s in streams}
    done, last = 0, time.monotonic()
    while not stopping and (a.count == 0 or done < a.count):
        block = BLOCK_MS
        if a.idle_exit:
            left = a.idle_exit - (time.monotonic() - last)
            if left <= 0:
                break
            block = max(1, min(block, int(left * 1000)))
        want = BATCH if a.count == 0 else min(BATCH, a.count - done)
        history = any(c != ">" for c in cursor.values())
        got = r.xreadgroup(a.group, a.consumer, cursor, count=want,
                           block=None if history else block)
        seen = {s.decode(): entries for s, entries in got}
        for s in streams:
            entries = seen.get(s, [])
            if cursor[s] != ">":
                cursor[s] = entries[-1][0].decode() if entries else ">"
            for entry_id, fields in entries:
                handle(s, entry_id.decode(), fields)
                r.xack(s, a.group, entry_id)
                done += 1
                last = time.monotonic()
                if stopping or (a.count and done >= a.count):
                    return 0
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except redis.RedisError as e:
        sys.exit("consumer: redis: %s" % e)
