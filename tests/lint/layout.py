#!/usr/bin/env python3
"""The layout's rules, checked on the source tree (README "Layout").

Each product folder has a README.md whose line "May use: a, b, c" names the
folders its files may include from ("libc only" or nothing for none). This
check holds the code to those lines, so the doc is the rule:

  - every #include "folder/..." of a folder's .c/.h names itself or a
    folder it may use;
  - the may-use relation has no cycle and nothing may use cmd/;
  - no include circle between files;
  - a header that calls itself private to a folder is included only from
    that folder (and the tests);
  - every header opens with its contract comment;
  - no source file is over MAX_LINES lines.

Usage: layout.py SOURCE_DIR. Prints every violation; exits 1 if any.
"""
import os
import re
import sys

FOLDERS = ["common", "parsers", "queue", "deploy", "config", "ingest",
           "worker", "cmd"]
MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
PRIVATE = re.compile(r"[Pp]rivate(?:\s|\*)+to(?:\s|\*)+(\w+)/")


def may_use(src, folder, problems):
    path = os.path.join(src, folder, "README.md")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        problems.append(f"{folder}/README.md: missing (it says what lives "
                        "there and what it may use)")
        return set()
    m = re.search(r"^May use:\s*(.*)$", text, re.M)
    if not m:
        problems.append(f"{folder}/README.md: no 'May use:' line")
        return set()
    names = {n.strip().strip("`").rstrip("/") for n in m.group(1).split(",")}
    names -= {"", "libc only", "nothing"}
    for n in sorted(names - set(FOLDERS)):
        problems.append(f"{folder}/README.md: may use unknown folder '{n}'")
    return names & set(FOLDERS)


def find_cycle(graph):
    """A list of nodes forming a cycle in graph (node -> set), or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def main(src):
    problems = []
    allowed = {f: may_use(src, f, problems) for f in FOLDERS}
    for f, uses in allowed.items():
        if "cmd" in uses:
            problems.append(f"{f}/README.md: nothing may use cmd/")
    cycle = find_cycle(allowed)
    if cycle:
        problems.append("folders may use each other in a circle: " +
                        " -> ".join(cycle))

    files = {}
    for f in FOLDERS:
        d = os.path.join(src, f)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                rel = f"{f}/{name}"
                files[rel] = open(os.path.join(d, name), encoding="utf-8").read()

    graph = {}
    private = {}
    for rel, text in files.items():
        if rel.endswith(".h"):
            if not text.lstrip().startswith("/*"):
                problems.append(f"{rel}: a header opens with its contract comment")
            head = text[:text.find("*/") + 2]
            m = PRIVATE.search(head)
            if m:
                private[rel] = m.group(1)
        n = text.count("\n")
        if n > MAX_LINES:
            problems.append(f"{rel}: {n} lines (over {MAX_LINES}): split it "
                            "along its seams")

    for rel, text in files.items():
        folder = rel.split("/")[0]
        graph[rel] = set()
        for inc in INCLUDE.findall(text):
            top = inc.split("/")[0]
            if top not in FOLDERS:
                continue
            if inc not in files:
                problems.append(f"{rel}: includes {inc}, which does not exist")
                continue
            graph[rel].add(inc)
            if top != folder and top not in allowed[folder]:
                problems.append(f"{rel}: includes {inc}, but {folder}/ may "
                                f"not use {top}/ ({folder}/README.md)")
            owner = private.get(inc)
            if owner and owner != folder:
                problems.append(f"{rel}: includes {inc}, private to {owner}/")
    cycle = find_cycle(graph)
    if cycle:
        problems.append("include circle: " + " -> ".join(cycle))

    for p in problems:
        print("layout: " + p)
    print(f"layout: {len(files)} files in {len(FOLDERS)} folders, "
          f"{sum(len(g) for g in graph.values())} include arrows, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
