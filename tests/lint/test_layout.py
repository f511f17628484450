#!/usr/bin/env python3
"""layout.py can fail: a small tree per rule, each broken once."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUT = os.path.join(HERE, "layout.py")
USES = {"common": "libc only", "parsers": "common", "queue": "common",
        "deploy": "common", "config": "parsers, common",
        "ingest": "config, parsers, queue, common",
        "worker": "config, queue, deploy, common",
        "cmd": "ingest, worker, config, parsers, queue, deploy, common"}


def tree(root, files, uses=None):
    for f, u in (uses or USES).items():
        os.makedirs(os.path.join(root, f), exist_ok=True)
        with open(os.path.join(root, f, "README.md"), "w") as fh:
            fh.write(f"# {f}/\n\nMay use: {u}\n")
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as fh:
            fh.write(text)


def run(files, uses=None):
    with tempfile.TemporaryDirectory() as d:
        tree(d, files, uses)
        p = subprocess.run([sys.executable, LAYOUT, d], capture_output=True,
                           text=True)
        return p.returncode, p.stdout


H = "/* x: a contract. */\n"
GOOD = {"common/a.h": H, "common/a.c": '#include "common/a.h"\n',
        "ingest/i.h": H + '#include "common/a.h"\n',
        "worker/w.h": H + "/* w: private to worker/ */\n",
        "worker/p.h": "/* p: private to worker/ */\n",
        "worker/w.c": '#include "worker/p.h"\n',
        "cmd/m.c": '#include "ingest/i.h"\n#include "worker/w.h"\n'}
failures = 0


def expect(name, files, want, uses=None):
    global failures
    rc, out = run(files, uses)
    ok = (rc == 0) if want is None else (rc == 1 and want in out)
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures += 1
        print(out)


expect("a tree that keeps the rules passes", GOOD, None)
expect("an arrow up is refused", dict(GOOD, **{"common/b.c": '#include "ingest/i.h"\n'}),
       "common/ may not use ingest/")
expect("ingest and worker never include each other",
       dict(GOOD, **{"ingest/j.c": '#include "worker/w.h"\n'}), "ingest/ may not use worker/")
expect("a private header stays in its folder",
       dict(GOOD, **{"cmd/n.c": '#include "worker/p.h"\n'}), "private to worker/")
expect("an include circle is found",
       dict(GOOD, **{"common/x.h": H + '#include "common/y.h"\n',
                     "common/y.h": H + '#include "common/x.h"\n'}), "include circle")
expect("a header without its contract comment is refused",
       dict(GOOD, **{"common/z.h": "#ifndef Z\n#endif\n"}), "contract comment")
expect("a file over the size limit is refused",
       dict(GOOD, **{"parsers/big.c": "int x;\n" * 900}), "split it")
expect("folders may not use each other in a circle", GOOD, "in a circle",
       dict(USES, common="parsers", parsers="common"))
expect("nothing may use cmd/", GOOD, "nothing may use cmd/",
       dict(USES, worker="cmd, common"))
sys.exit(1 if failures else 0)
