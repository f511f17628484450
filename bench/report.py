#!/usr/bin/env python3
"""Turns bench/run.sh's raw numbers into bench/results/latest.md and .png
(quick.md and .png for --quick).

    bench/report.py --tsv bench/results/latest.tsv [--e2e FILE] [--callgrind FILE]
                    [--callgrind-redis FILE] [--cmd "bench/run.sh ..."]
                    [--bs build-bench/bitsleuth] [--out bench/results/latest]

Medians across rounds per (Redis mode, payload, connections, server); the
ratios are bitsleuth's figure over the peer's. "The cost of queue.events"
sets shipped against the same config with queue.events: false (issue 15):
their req/s ratio and CPU differences per table, and Redis' instructions
per delivery from `bench/callgrind.sh --redis [--variant noevents]`. The
chart (gnuplot) shows req/s and p99 per connection count for the servers,
durable Redis, 5 KB. Standard library only.
"""
import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

SERVERS = [("shipped", "bitsleuth, shipped defaults"),
           ("noevents", "bitsleuth, shipped defaults, queue.events: false"),
           ("lean", "bitsleuth, lean (no content dedupe, raw_ttl 0)"),
           ("peer", "Fastify + ioredis peer"),
           ("floor", "floor (bare evhttp, 202)")]
MODES = [("durable", "durable (appendonly yes, appendfsync always)"),
         ("everysec", "appendfsync everysec"), ("noaof", "no AOF")]
PAYLOADS = [("5k", "5 KB push (bench/push5.json)"),
            ("200k", "200 KB push, 213 commits (bench/push200.json)")]
SIZES = {"5k": "bench/push5.json", "200k": "bench/push200.json"}


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine(bs):
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())),
        ("cores (nproc)", str(os.cpu_count())),
        ("CPU", model),
        ("kernel", platform.release()),
        ("redis-server", sh("redis-server", "--version").split(" sha=")[0]),
        ("node", sh("node", "--version")),
        ("wrk", sh("sh", "-c", "wrk --version 2>&1 | head -n1").split(" Copyright")[0]),
        ("bitsleuth", "%s (source: commit %s, the last change outside bench/; checkout at %s)" % (
            sh(bs, "--version") if bs else "?",
            sh("git", "log", "-1", "--format=%h", "--", ".", ":(exclude)bench"),
            sh("git", "rev-parse", "--short", "HEAD"))),
        ("load average at the end", " ".join(open("/proc/loadavg").read().split()[:3])),
    ]


def med(rows, key):
    v = [float(r[key]) for r in rows]
    return statistics.median(v) if v else float("nan")


def fmt(x, d=0):
    if x != x:  # nan
        return "–"
    return "{:,.{d}f}".format(x, d=d)


def ratio(a, b):
    return "%.2f×" % (a / b) if b and a == a and b == b else "–"


def load_tsv(path):
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def groups(rows):
    g = {}
    for r in rows:
        g.setdefault((r["mode"], r["payload"], int(r["conns"])), {}).setdefault(
            r["server"], []).append(r)
    return g


def summary(rs):
    return {
        "rps": med(rs, "rps"), "p50": med(rs, "p50_ms"), "p99": med(rs, "p99_ms"),
        "p999": med(rs, "p999_ms"), "cpu": med(rs, "server_cpu_us"),
        "redis": med(rs, "redis_cpu_us"), "gen": med(rs, "gen_cpu_us"),
        "rss": med(rs, "rss_kb") / 1024, "non2xx": sum(int(r["non2xx"]) + int(r["errors"]) for r in rs),
        "rounds": len(rs),
    }


def table(md, mode, payload, conns, by):
    md.append("#### %s, %s, %d connection%s\n" % (
        dict(MODES).get(mode, mode), dict(PAYLOADS).get(payload, payload), conns,
        "" if conns == 1 else "s"))
    md.append("| server | req/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/req | "
              "Redis CPU µs/req | peak RSS MB | wrk CPU µs/req | non-2xx | req/s vs peer | "
              "CPU/req vs peer |")
    md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    peer = summary(by["peer"]) if "peer" in by else None
    for key, name in SERVERS:
        if key not in by:
            continue
        s = summary(by[key])
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
            name, fmt(s["rps"]), fmt(s["p50"], 2), fmt(s["p99"], 2), fmt(s["p999"], 2),
            fmt(s["cpu"], 1), "–" if key == "floor" else fmt(s["redis"], 1), fmt(s["rss"], 1),
            fmt(s["gen"], 1), s["non2xx"],
            ratio(s["rps"], peer["rps"]) if peer else "–",
            ratio(s["cpu"], peer["cpu"]) if peer else "–"))
    md.append("")
    if "floor" in by:
        f = summary(by["floor"])
        threads = 2 if conns >= 256 else 1
        cores = f["gen"] * f["rps"] / 1e6
        verdict = ("**wrk is the limit at the floor** (its thread%s near full)" % ("s are" if threads > 1 else " is")
                   if cores >= 0.85 * threads else "wrk is not the only limit at the floor "
                   "(the floor, wrk and the kernel share %d cores)" % (os.cpu_count() or 0))
        md.append("- Generator: at the floor's rate wrk + `sign.lua` used %.2f of a core "
                  "(wrk -t%d; %s µs per request); %s." % (cores, threads, fmt(f["gen"], 1), verdict))
    fs = by.get("floor-static")
    if fs:
        s = summary(fs)
        md.append("- Calibration: the floor sent one signed request over and over (`STATIC=1`, no "
                  "per-request body or HMAC): %s req/s, wrk %s µs per request." % (
                      fmt(s["rps"]), fmt(s["gen"], 1)))
    md.append("- Rounds per row: %d.\n" % max(len(v) for k, v in by.items() if k != "floor-static"))


def e2e_section(md, path):
    rows = load_tsv(path)
    if not rows:
        return {}
    md.append("## End to end (durable Redis, 64 targets, loopback Sleuth `bench/sleuth_fast.c`)\n")
    out = {}
    for r in rows:
        out[r["phase"]] = r
    if "run" in out:
        r = out["run"]
        md.append("**`bitsleuth run`** (ingest and worker in one process) under wrk -c32 for "
                  "%s s, pushes spread over acme/r0..r63:\n" % r["secs"])
        md.append("| ingest req/s | p99 ms | non-2xx | register_deploy/s | jobs in the stream before → after | backlog growth (share of queued) | bitsleuth CPU (cores) | Redis CPU (cores) | calls Sleuth refused |")
        md.append("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        md.append("| %s | %s | %s | %s | %s → %s | %s (%d %%) | %s | %s | %s |\n" % (
            fmt(float(r["ingest_rps"])), r["p99_ms"], r["non2xx"], fmt(float(r["deploys_per_s"])),
            r["jobs_before"], r["jobs_after"], r["backlog_growth"],
            round(100 * float(r["backlog_share"])), r["bitsleuth_cpu_core"], r["redis_cpu_core"],
            r.get("sleuth_bad", "?")))
    if "work" in out:
        r = out["work"]
        md.append("**`bitsleuth work` draining a backlog** of %s jobs queued first by `bitsleuth serve` "
                  "(at %s req/s):\n" % (r["jobs_before"], fmt(float(r["ingest_rps"]))))
        md.append("| deploys registered | register_deploy/s | drain s | jobs left | worker CPU (cores) | Redis CPU (cores) | calls Sleuth refused (total) |")
        md.append("|--:|--:|--:|--:|--:|--:|--:|")
        md.append("| %s | %s | %s | %s | %s | %s | %s |\n" % (
            r["deploys"], fmt(float(r["deploys_per_s"])), r["secs"], r["jobs_after"],
            r["bitsleuth_cpu_core"], r["redis_cpu_core"], r.get("sleuth_bad", "?")))
        md.append("register_deploy/s counts from the first deploy Sleuth saw to the last; the CPU "
                  "columns are averages over the whole drain, start-up included.\n")
    return out


def targets(md, g, e2e):
    def s(mode, pl, c, srv):
        by = g.get((mode, pl, c), {})
        return summary(by[srv]) if srv in by else None

    lines = []

    def t(name, ok, got):
        if ok is None:
            lines.append("| %s | not measured in this run | – |" % name)
        else:
            lines.append("| %s | %s | %s |" % (name, "met" if ok else "**not met**", got))

    sh_, le, pe = s("durable", "5k", 32, "shipped"), s("durable", "5k", 32, "lean"), s("durable", "5k", 32, "peer")
    if sh_ and pe:
        t("32 connections: shipped ≥ 2× peer req/s", sh_["rps"] >= 2 * pe["rps"], ratio(sh_["rps"], pe["rps"]))
        t("32 connections: shipped p99 < 5 ms", sh_["p99"] < 5, "%.2f ms" % sh_["p99"])
        t("serve ≤ 25 µs CPU per request (shipped)", sh_["cpu"] <= 25, "%.1f µs" % sh_["cpu"])
        t("Redis ≤ 20 µs CPU per job (shipped)", sh_["redis"] <= 20, "%.1f µs" % sh_["redis"])
    else:
        for n in ("32 connections: shipped ≥ 2× peer req/s", "32 connections: shipped p99 < 5 ms",
                  "serve ≤ 25 µs CPU per request (shipped)", "Redis ≤ 20 µs CPU per job (shipped)"):
            t(n, None, None)
    if le and pe:
        t("lean ≥ 2.5× peer req/s", le["rps"] >= 2.5 * pe["rps"], ratio(le["rps"], pe["rps"]))
    else:
        t("lean ≥ 2.5× peer req/s", None, None)
    b = s("durable", "5k", 256, "shipped")
    if b:
        t("256 connections: RSS < 32 MB and p99 < 20 ms", b["rss"] < 32 and b["p99"] < 20,
          "%.1f MB, %.2f ms" % (b["rss"], b["p99"]))
    else:
        t("256 connections: RSS < 32 MB and p99 < 20 ms", None, None)
    if "run" in e2e:
        r = e2e["run"]
        t("`run`, 64 targets: ≥ 5,000 register_deploy/s, backlog not growing",
          float(r["deploys_per_s"]) >= 5000 and int(r["backlog_growth"]) <= 0,
          "%s/s, backlog %+d" % (fmt(float(r["deploys_per_s"])), int(r["backlog_growth"])))
    else:
        t("`run`, 64 targets: ≥ 5,000 register_deploy/s, backlog not growing", None, None)
    if "work" in e2e:
        r = e2e["work"]
        t("`work` draining a backlog ≥ 15,000/s", float(r["deploys_per_s"]) >= 15000,
          "%s/s" % fmt(float(r["deploys_per_s"])))
    else:
        t("`work` draining a backlog ≥ 15,000/s", None, None)
    big, bigp = s("durable", "200k", 32, "shipped"), s("durable", "200k", 32, "peer")
    if big and bigp and sh_:
        size5, size200 = os.path.getsize(SIZES["5k"]), os.path.getsize(SIZES["200k"])
        t("200 KB push ≥ 2× peer req/s", big["rps"] >= 2 * bigp["rps"], ratio(big["rps"], bigp["rps"]))
        per5, per200 = sh_["cpu"] / size5 * 1000, big["cpu"] / size200 * 1000
        t("200 KB: CPU per byte ≤ 5 KB's", per200 <= per5,
          "%.2f vs %.2f µs per KB (%.1f× the CPU of a 5 KB push)" % (per200, per5, big["cpu"] / sh_["cpu"]))
    else:
        t("200 KB push ≥ 2× peer req/s", None, None)
    md.append("## Targets of issue 10 (durable Redis, shipped defaults unless said)\n")
    md.append("| target | status | measured |")
    md.append("|---|---|---|")
    md.extend(lines)
    md.append("")


def events_cost(md, g, cg_redis):
    """shipped (queue.events on, the default) against noevents, per table
    that has both; and Redis' instructions per delivery, on and off."""
    rows = []
    for (mode, payload, conns) in sorted(g, key=lambda k: ([m for m, _ in MODES].index(k[0])
                                                            if k[0] in dict(MODES) else 9, k[1], k[2])):
        by = g[(mode, payload, conns)]
        if "shipped" not in by or "noevents" not in by:
            continue
        on, off = summary(by["shipped"]), summary(by["noevents"])
        rows.append("| %s, %s, %d conn. | %s | %s | %s | %s → %s | %s → %s |" % (
            mode, payload, conns, fmt(on["rps"]), fmt(off["rps"]), ratio(on["rps"], off["rps"]),
            fmt(off["cpu"], 1), fmt(on["cpu"], 1), fmt(off["redis"], 1), fmt(on["redis"], 1)))
    ir = {}
    for line in cg_redis:
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if "redis_ir_per_request" in kv:
            ir[kv.get("variant", "shipped")] = float(kv["redis_ir_per_request"])
    if not rows and not ir:
        return
    md.append("## The cost of queue.events (issue 15)\n")
    md.append("`bitsleuth serve` with the shipped defaults (`queue.events: true`: every delivery "
              "also goes to `{p}:events`) against the same config with `queue.events: false`, in "
              "the same interleaved rounds.\n")
    if rows:
        md.append("| Redis, payload, connections | req/s, events on | req/s, events off | on / off | "
                  "server CPU µs/req off → on | Redis CPU µs/req off → on |")
        md.append("|---|--:|--:|--:|--:|--:|")
        md.extend(rows)
        md.append("")
    if ir:
        on, off = ir.get("shipped"), ir.get("noevents")
        md.append("Redis' instructions per delivery (`bench/callgrind.sh --redis`, AOF on, "
                  "`appendfsync always`): %s with the events stream, %s without (`--variant "
                  "noevents`)%s.\n" % (
                      fmt(on) if on else "–", fmt(off) if off else "–",
                      ": %+.1f %%" % (100 * (on - off) / off) if on and off else ""))


def chart(g, out):
    gp = shutil.which("gnuplot")
    conns = sorted(c for (m, p, c) in g if m == "durable" and p == "5k")
    if not gp or not conns:
        return False
    dat = out + ".dat"
    with open(dat, "w") as f:
        f.write("# conns " + " ".join("%s_rps %s_p99" % (k, k) for k, _ in SERVERS) + "\n")
        for c in conns:
            by = g[("durable", "5k", c)]
            cols = []
            for k, _ in SERVERS:
                s = summary(by[k]) if k in by else None
                cols += ["%.1f" % s["rps"], "%.3f" % s["p99"]] if s else ["NaN", "NaN"]
            f.write("%d %s\n" % (c, " ".join(cols)))
    title = ["bitsleuth shipped", "bitsleuth, events off", "bitsleuth lean", "Node peer",
             "floor (evhttp)"]
    plot_rps = ", ".join("'%s' using 1:%d with linespoints lw 2 pt 7 title '%s'" % (dat, 2 + 2 * i, t)
                         for i, t in enumerate(title))
    plot_p99 = ", ".join("'%s' using 1:%d with linespoints lw 2 pt 7 title '%s'" % (dat, 3 + 2 * i, t)
                         for i, t in enumerate(title))
    script = """
set terminal pngcairo size 1200,480 font 'Sans,10'
set output '%s.png'
set multiplot layout 1,2 title 'Ingest, durable Redis (appendfsync always), signed unique 5 KB pushes (medians)'
set logscale x 2
set xrange [0.7:400]
set xtics (1, 32, 256)
set grid
set key top left
set xlabel 'connections (wrk)'
set logscale y
set ylabel 'requests/s (log)'
set title 'throughput'
plot %s
set ylabel 'p99 latency, ms (log)'
set title 'p99 latency'
plot %s
unset multiplot
""" % (out, plot_rps, plot_p99)
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return False
    os.remove(dat)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", default="bench/results/latest.tsv")
    ap.add_argument("--e2e", default="bench/results/latest-e2e.tsv")
    ap.add_argument("--callgrind", default="bench/results/latest-callgrind.txt")
    ap.add_argument("--callgrind-redis", default="bench/results/latest-callgrind.txt.redis")
    ap.add_argument("--cmd", default="bench/run.sh")
    ap.add_argument("--bs", default="build-bench/bitsleuth")
    ap.add_argument("--out", default="bench/results/latest")
    ap.add_argument("--quick", default="0")
    ap.add_argument("--secs", default="?")
    ap.add_argument("--rounds", default="?")
    a = ap.parse_args()

    rows = load_tsv(a.tsv)
    g = groups(rows)
    name = os.path.basename(a.out)
    md = ["# bitsleuth ingest benchmark: %s run\n" % ("quick" if a.quick == "1" else "latest full")]
    md.append("Produced by `%s`%s. Raw per-round numbers: [%s](%s)"
              "%s; how to read it: [bench/README.md](../README.md).\n" % (
                  a.cmd, " (the quick subset)" if a.quick == "1" else "",
                  os.path.basename(a.tsv), os.path.basename(a.tsv),
                  ", [{0}]({0})".format(os.path.basename(a.e2e)) if os.path.exists(a.e2e) else ""))
    md.append("| | |\n|---|---|")
    md.extend("| %s | %s |" % kv for kv in machine(a.bs))
    md.append("")
    md.append("Every request is a unique, correctly signed Bitbucket Cloud `repo:push` "
              "(`bench/sign.lua`: fresh `X-Request-UUID`, new head hash, HMAC-SHA256), so "
              "neither delivery-id nor content dedupe short-cuts the work. Rounds of %s s "
              "(`wrk --timeout 10s`, -t1, -t2 at 256 connections), the servers' order rotated "
              "every round, all against the same redis-server (emptied before each round, "
              "restarted per Redis mode). Figures are medians across rounds; CPU is utime+stime "
              "from /proc over the round divided by the requests answered; peak RSS is VmHWM "
              "after clearing it (`clear_refs`) before the round; non-2xx also counts socket "
              "errors and timeouts.\n" % a.secs)
    if os.path.exists(a.out + ".png") or g:
        md.append("![throughput and p99 per connection count](%s.png)\n" % name)
    targets_e2e = {}
    body = []
    for mode, _ in MODES:
        keys = sorted(k for k in g if k[0] == mode)
        if not keys:
            continue
        body.append("## Redis: %s\n" % dict(MODES)[mode])
        for payload, _ in PAYLOADS:
            for k in keys:
                if k[1] == payload:
                    table(body, mode, payload, k[2], g[k])
    targets_e2e = e2e_section(body, a.e2e)
    if os.path.exists(a.callgrind):
        line = open(a.callgrind).read().strip().splitlines()
        if line:
            kv = dict(x.split("=", 1) for x in line[-1].split())
            body.append("## Callgrind\n")
            body.append("Instructions per ingest request (`bench/callgrind.sh`: `bitsleuth serve`, "
                        "shipped defaults, %s, unique signed requests, Redis without AOF; "
                        "the difference of two runs divided by the extra requests): "
                        "**%s Ir/request** (%s requests).\n" % (
                            kv.get("payload", "?"), fmt(float(kv["ingest_ir_per_request"])),
                            kv.get("requests", "?")))
    cg_redis = []
    if os.path.exists(a.callgrind_redis):
        cg_redis = open(a.callgrind_redis).read().strip().splitlines()
    events_cost(md, g, cg_redis)
    targets(md, g, targets_e2e)
    md.extend(body)
    ok = chart(g, a.out)
    if not ok and os.path.exists(a.out + ".png"):
        os.remove(a.out + ".png")
    with open(a.out + ".md", "w") as f:
        f.write("\n".join(md).rstrip() + "\n")


if __name__ == "__main__":
    main()
