#!/usr/bin/env python3
"""Independent reference extractor for the bitsleuth payload parsers.

Reads every fixture listed in $BS_FIXTURES/index.tsv (or the directory given
as the first argument), maps the payload to the normalised event with plain
Python (json module, no shared code with parsers/*.c) and writes the
canonical dump (the format of parsers/event_dump.h) to
tests/golden/<same relative path>.txt. test_parsers_golden then checks
that the C parser produces byte-identical text: two implementations of the
mapping in common/event.h and the parsers brief must agree.

    python3 tests/golden/expect.py [FIXTURES_DIR]        # (re)write all
    python3 tests/golden/expect.py --check [FIXTURES_DIR] # diff only
"""
import datetime
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_STRING = 65536  # bs_parse_limits_default


class Num(str):
    """A JSON number, kept as its text (the C parser never converts)."""


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    return json.loads(raw.decode("utf-8"), parse_int=Num, parse_float=Num,
                      parse_constant=Num)


def cut(s):
    """Cut to MAX_STRING bytes at a UTF-8 character boundary."""
    b = s.encode("utf-8")
    if len(b) <= MAX_STRING:
        return s
    n = MAX_STRING
    while n > 0 and (b[n] & 0xC0) == 0x80:
        n -= 1
    return b[:n].decode("utf-8")


def sget(obj, *path):
    """String at obj[path...] (a string only, never a number), else None."""
    for p in path:
        if isinstance(p, int):
            if not isinstance(obj, list) or len(obj) <= p:
                return None
        elif not isinstance(obj, dict) or p not in obj:
            return None
        obj = obj[p]
    if isinstance(obj, str) and not isinstance(obj, Num):
        return cut(obj)
    return None


def oget(obj, *path):
    for p in path:
        if isinstance(p, int):
            if not isinstance(obj, list) or len(obj) <= p:
                return None
        elif not isinstance(obj, dict) or p not in obj:
            return None
        obj = obj[p]
    return obj


def coalesce(*vals):
    for v in vals:
        if v is not None:
            return v
    return None


ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):"
                 r"([0-9]{2})(?:[.,]([0-9]+))?(?:([Zz])|([+-])([0-9]{2})"
                 r"(?::?([0-9]{2}))?)")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
LAST = datetime.datetime(9999, 12, 31, 23, 59, 59, 999000,
                         tzinfo=datetime.timezone.utc)


def utc_ms(t):
    """An aware datetime -> 'YYYY-MM-DDTHH:MM:SS.mmmZ' (UTC), or None."""
    t = t.astimezone(datetime.timezone.utc)
    if not EPOCH <= t <= LAST:
        return None
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (t.microsecond // 1000)


def iso_utc(s):
    """DC 10 ISO-8601 with an offset -> UTC with ms; None if it is not one."""
    m = ISO.fullmatch(s)
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    frac = (m.group(7) or "")[:3].ljust(3, "0")
    if m.group(8):
        off = datetime.timedelta(0)
    else:
        oh, om = int(m.group(10)), int(m.group(11) or 0)
        if oh > 23 or om > 59:
            return None
        off = datetime.timedelta(hours=oh, minutes=om)
        if m.group(9) == "-":
            off = -off
    if y < 1970 or sec > 59:
        return None
    try:
        t = datetime.datetime(y, mo, d, h, mi, sec, int(frac) * 1000,
                              tzinfo=datetime.timezone(off))
    except ValueError:
        return None
    try:
        return utc_ms(t)
    except OverflowError:
        return None


def date_value(v):
    """DC dates: epoch-ms numbers and ISO-8601 strings with an offset ->
    ISO-8601 UTC with ms; anything else as sent."""
    if isinstance(v, Num):
        if re.fullmatch(r"[0-9]{1,15}", v) and int(v) <= 253402300799999:
            ms = int(v)
            t = datetime.datetime(1970, 1, 1) + datetime.timedelta(
                milliseconds=ms)
            return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)
        return cut(str(v))
    if isinstance(v, str):
        return coalesce(iso_utc(v), cut(v))
    return None


def person(name=None, email=None, username=None):
    return {"name": name, "email": email, "username": username}


def new_event(product, etype, key):
    return {"product": product, "type": etype, "event_key": key,
            "repository": None, "repository_url": None, "actor": person(),
            "date": None, "changes": [], "pr": None, "ref_limit_exceeded": False}


def new_change():
    return {"ref_type": "other", "ref_name": None, "ref_type_raw": None,
            "old_hash": None, "new_hash": None, "new_commit": None,
            "head_author": person(), "head_date": None,
            "created": False, "closed": False, "forced": False,
            "truncated": False, "link": None, "commits": []}


def new_commit():
    return {"hash": None, "message": None, "author": person(), "date": None,
            "url": None, "parents": []}


CLOUD_PR = {
    "created": "opened", "updated": "updated", "approved": "approved",
    "unapproved": "unapproved",
    "changes_request_created": "changes_requested",
    "changes_request_removed": "changes_request_removed",
    "fulfilled": "merged", "rejected": "declined",
    "comment_created": "comment", "comment_updated": "comment",
    "comment_deleted": "comment", "comment_resolved": "comment",
    "comment_reopened": "comment",
}
DC_PR = {
    "opened": "opened", "from_ref_updated": "updated", "modified": "updated",
    "merged": "merged", "declined": "declined", "deleted": "deleted",
    "reviewer:updated": "reviewer", "reviewer:approved": "approved",
    "reviewer:unapproved": "unapproved",
    "reviewer:needs_work": "changes_requested",
    "reviewer:changes_requested": "changes_requested",
    "comment:added": "comment", "comment:edited": "comment",
    "comment:deleted": "comment",
}


def classify(product, key):
    if product == "cloud":
        if key == "repo:push":
            return "push", None
        if key.startswith("pullrequest:") and key[12:] in CLOUD_PR:
            return "pr", CLOUD_PR[key[12:]]
    else:
        if key in ("repo:refs_changed", "mirror:repo_synchronized"):
            return "push", None
        if key == "diagnostics:ping":
            return "ping", None
        if key.startswith("pr:") and key[3:] in DC_PR:
            return "pr", DC_PR[key[3:]]
    return "other", None


class Schema(Exception):
    pass


def pr_id(v, what):
    if v is None:
        raise Schema("missing " + what)
    if not isinstance(v, Num) or not re.fullmatch(r"-?[0-9]+", v) or \
            not -2**63 <= int(v) < 2**63:
        raise Schema(what + " is not an integer")
    return int(v)


# ------------------------------------------------------------------ Cloud

def split_raw(raw):
    """'Name <email>': the name precedes the first '<'; the email is the
    first closed <...> group left non-empty after stripping spaces and stray
    brackets; without a closed group all of raw is the name."""
    ws = " \t\r\n"
    lt = raw.find("<")
    gt = raw.find(">", lt + 1) if lt >= 0 else -1
    if lt < 0 or gt < 0:
        return (raw.strip(ws) or None), None
    name, email = raw[:lt].strip(ws), ""
    while lt >= 0 and gt >= 0 and not email:
        email = raw[lt + 1:gt].strip(ws + "<>")
        lt = raw.find("<", gt)
        gt = raw.find(">", lt + 1) if lt >= 0 else -1
    return (name or None), (email or None)


def cloud_account(a):
    return sget(a, "display_name"), coalesce(sget(a, "nickname"),
                                             sget(a, "username"))


def cloud_person(a):
    name, username = cloud_account(a)
    return person(name, None, username)


def cloud_author(a):
    """A commit's author object (also new.target.author): name and email
    from raw, else the display names; username from the user's nickname or
    username, else the author's own."""
    a = a if isinstance(a, dict) else {}
    u = a.get("user")
    u = u if isinstance(u, dict) else {}
    name = email = None
    raw = sget(a, "raw")
    if raw is not None:
        name, email = split_raw(raw)
    return person(coalesce(name, sget(u, "display_name"),
                           sget(a, "display_name")),
                  email,
                  coalesce(sget(u, "nickname"), sget(u, "username"),
                           sget(a, "nickname"), sget(a, "username")))


def cloud_commit(c):
    m = new_commit()
    m["hash"] = sget(c, "hash")
    m["message"] = sget(c, "message")
    m["date"] = sget(c, "date")
    m["url"] = sget(c, "links", "html", "href")
    m["author"] = cloud_author(c.get("author"))
    parents = c.get("parents")
    for p in parents if isinstance(parents, list) else []:
        h = sget(p, "hash")
        if h is not None:
            m["parents"].append(h)
    return m


def cloud_change(c):
    ch = new_change()
    new, old = c.get("new"), c.get("old")
    ref = new if isinstance(new, dict) else (
        old if isinstance(old, dict) else None)
    if ref is not None:
        t = sget(ref, "type")
        ch["ref_name"] = sget(ref, "name")
        if t == "branch":
            ch["ref_type"] = "branch"
        elif t == "tag":
            ch["ref_type"] = "tag"
        else:
            ch["ref_type_raw"] = t
    ch["old_hash"] = sget(old, "target", "hash")
    ch["new_hash"] = ch["new_commit"] = sget(new, "target", "hash")
    # the head commit (new.target) names its author and date; only when
    # both new and its target are objects
    target = oget(new, "target")
    if isinstance(new, dict) and isinstance(target, dict):
        ch["head_author"] = cloud_author(target.get("author"))
        ch["head_date"] = sget(target, "date")
    for f in ("created", "closed", "forced", "truncated"):
        ch[f] = c.get(f) is True
    ch["link"] = sget(c, "links", "html", "href")
    commits = c.get("commits")
    for m in commits if isinstance(commits, list) else []:
        if isinstance(m, dict):
            ch["commits"].append(cloud_commit(m))
    return ch


def cloud(ev, d, action):
    repo = d.get("repository")
    fn = oget(repo, "full_name")
    if ev["type"] == "push":
        if fn is None:
            raise Schema("missing repository.full_name")
        if sget(repo, "full_name") is None:
            raise Schema("repository.full_name is not a string")
        changes = oget(d, "push", "changes")
        if not isinstance(changes, list):
            raise Schema("push.changes is missing or not an array")
        for c in changes:
            if isinstance(c, dict):
                ev["changes"].append(cloud_change(c))
    elif ev["type"] == "pr":
        p = d.get("pullrequest")
        if not isinstance(p, dict):
            raise Schema("missing pullrequest object")
        ev["pr"] = {
            "id": pr_id(p.get("id"), "pullrequest.id"),
            "action": action,
            "title": sget(p, "title"),
            "description": sget(p, "description"),
            "state": sget(p, "state"),
            "source": cloud_pr_ref(p.get("source")),
            "destination": cloud_pr_ref(p.get("destination")),
            "merge_hash": sget(p, "merge_commit", "hash"),
            "author": cloud_person(p.get("author")),
            "url": sget(p, "links", "html", "href"),
            "created": sget(p, "created_on"),
            "updated": sget(p, "updated_on"),
        }
    ev["repository"] = sget(repo, "full_name")
    ev["repository_url"] = sget(repo, "links", "html", "href")
    name, username = cloud_account(d.get("actor"))
    ev["actor"] = person(name, None, username)


def cloud_pr_ref(r):
    return {"branch": sget(r, "branch", "name"),
            "repository": sget(r, "repository", "full_name"),
            "hash": sget(r, "commit", "hash")}


# --------------------------------------------------------------------- DC

def dc_repo_name(r):
    key, slug = sget(r, "project", "key"), sget(r, "slug")
    if key is None or slug is None:
        return None
    return key + "/" + slug


def dc_author(a):
    """A commit's (or toCommit's) author: DC 10 sends a user object
    (displayName, name = slug), older servers the git name and email."""
    if sget(a, "displayName") is not None:
        return person(sget(a, "displayName"), sget(a, "emailAddress"),
                      sget(a, "name"))
    return person(sget(a, "name"), sget(a, "emailAddress"), None)


def dc_commit(c):
    m = new_commit()
    m["hash"] = sget(c, "id")
    m["message"] = sget(c, "message")
    m["author"] = dc_author(c.get("author"))
    m["date"] = date_value(c.get("authorTimestamp"))
    parents = c.get("parents")
    for p in parents if isinstance(parents, list) else []:
        h = sget(p, "id")
        if h is not None:
            m["parents"].append(h)
    return m


ZERO = "0" * 40


def dc_change(c):
    ch = new_change()
    t = sget(c, "ref", "type")
    ch["ref_name"] = sget(c, "ref", "displayId")
    if t == "BRANCH":
        ch["ref_type"] = "branch"
    elif t == "TAG":
        ch["ref_type"] = "tag"
    else:
        ch["ref_type_raw"] = t
    fh, th = sget(c, "fromHash"), sget(c, "toHash")
    ch["old_hash"] = None if fh == ZERO else fh
    ch["new_hash"] = ch["new_commit"] = None if th == ZERO else th
    ch["created"] = sget(c, "type") == "ADD"
    ch["closed"] = sget(c, "type") == "DELETE"
    return ch


def dc(ev, d, action):
    ev["date"] = date_value(d.get("date"))
    ev["ref_limit_exceeded"] = d.get("refLimitExceeded") is True
    a = d.get("actor")
    ev["actor"] = person(sget(a, "displayName"), sget(a, "emailAddress"),
                         sget(a, "name"))
    if ev["type"] == "pr":
        p = d.get("pullRequest")
        if not isinstance(p, dict):
            raise Schema("missing pullRequest object")
        to_repo = oget(p, "toRef", "repository")
        ev["repository"] = dc_repo_name(to_repo)
        ev["repository_url"] = sget(to_repo, "links", "self", 0, "href")
        user = oget(p, "author", "user")
        ev["pr"] = {
            "id": pr_id(p.get("id"), "pullRequest.id"),
            "action": action,
            "title": sget(p, "title"),
            "description": sget(p, "description"),
            "state": sget(p, "state"),
            "source": {"branch": sget(p, "fromRef", "displayId"),
                       "repository": dc_repo_name(
                           oget(p, "fromRef", "repository")),
                       "hash": sget(p, "fromRef", "latestCommit")},
            "destination": {"branch": sget(p, "toRef", "displayId"),
                            "repository": ev["repository"],
                            "hash": sget(p, "toRef", "latestCommit")},
            "merge_hash": sget(p, "properties", "mergeCommit", "id"),
            "author": person(sget(user, "displayName"),
                             sget(user, "emailAddress"), sget(user, "name")),
            "url": sget(p, "links", "self", 0, "href"),
            "created": date_value(p.get("createdDate")),
            "updated": date_value(p.get("updatedDate")),
        }
        return
    repo = d.get("repository")
    if ev["type"] == "push":
        if not isinstance(repo, dict):
            raise Schema("missing repository")
        if dc_repo_name(repo) is None:
            raise Schema("missing repository.project.key or slug")
        if not isinstance(d.get("changes"), list):
            raise Schema("missing changes array")
    ev["repository"] = dc_repo_name(repo)
    ev["repository_url"] = sget(repo, "links", "self", 0, "href")
    if ev["type"] != "push":
        return
    for c in d["changes"]:
        if isinstance(c, dict):
            ev["changes"].append(dc_change(c))
    commits = d.get("commits")
    commits = [dc_commit(c) for c in commits if isinstance(c, dict)] \
        if isinstance(commits, list) else []
    to_commit = sget(d, "toCommit", "id")
    target = None
    if commits or to_commit is not None:
        anchor = commits[0]["hash"] if commits else to_commit
        if anchor is not None:
            target = next((c for c in ev["changes"]
                           if c["new_hash"] == anchor), None)
        if target is None:
            target = next((c for c in ev["changes"] if not c["closed"]),
                          None)
    if target is not None:
        target["commits"] = commits
        if to_commit is not None:
            target["new_commit"] = to_commit
            tc = d["toCommit"]
            target["head_author"] = dc_author(tc.get("author"))
            target["head_date"] = date_value(tc.get("authorTimestamp"))
    for c in ev["changes"]:
        n = len(c["commits"])
        c["truncated"] = not c["closed"] and (n == 0 or n >= 5)


# ------------------------------------------------------------------- dump

def q(s):
    return "null" if s is None else json.dumps(s, ensure_ascii=False)


def dump(ev):
    out = []

    def s(name, v):
        out.append("%s: %s" % (name, q(v)))

    def b(name, v):
        out.append("%s: %s" % (name, "true" if v else "false"))

    def pers(pre, p):
        s(pre + ".name", p["name"])
        s(pre + ".email", p["email"])
        s(pre + ".username", p["username"])

    out.append("product: " + ev["product"])
    out.append("type: " + ev["type"])
    s("event_key", ev["event_key"])
    s("repository", ev["repository"])
    s("repository_url", ev["repository_url"])
    pers("actor", ev["actor"])
    s("date", ev["date"])
    if ev["ref_limit_exceeded"]:   # printed only when set
        out.append("ref_limit_exceeded: true")
    out.append("changes: %d" % len(ev["changes"]))
    for i, c in enumerate(ev["changes"]):
        pre = "change[%d]." % i
        out.append(pre + "ref_type: " + c["ref_type"])
        for f in ("ref_name", "ref_type_raw", "old_hash", "new_hash",
                  "new_commit"):
            s(pre + f, c[f])
        pers(pre + "head_author", c["head_author"])
        s(pre + "head_date", c["head_date"])
        for f in ("created", "closed", "forced", "truncated"):
            b(pre + f, c[f])
        s(pre + "link", c["link"])
        out.append(pre + "commits: %d" % len(c["commits"]))
        for j, m in enumerate(c["commits"]):
            cp = pre + "commit[%d]." % j
            s(cp + "hash", m["hash"])
            s(cp + "message", m["message"])
            pers(cp + "author", m["author"])
            s(cp + "date", m["date"])
            s(cp + "url", m["url"])
            out.append(cp + "parents: %d" % len(m["parents"]))
            for k, h in enumerate(m["parents"]):
                s(cp + "parent[%d]" % k, h)
    p = ev["pr"]
    if p is None:
        out.append("pr: null")
    else:
        out.append("pr.id: %d" % p["id"])
        out.append("pr.action: " + p["action"])
        for f in ("title", "description", "state"):
            s("pr." + f, p[f])
        for side in ("source", "destination"):
            for f in ("branch", "repository", "hash"):
                s("pr.%s.%s" % (side, f), p[side][f])
        s("pr.merge_hash", p["merge_hash"])
        pers("pr.author", p["author"])
        for f in ("url", "created", "updated"):
            s("pr." + f, p[f])
    return "\n".join(out) + "\n"


def expect(path, key, product):
    d = load(path)
    etype, action = classify(product, key)
    ev = new_event(product, etype, key)
    if not isinstance(d, dict):
        raise Schema("top-level JSON value is not an object")
    (cloud if product == "cloud" else dc)(ev, d, action)
    return dump(ev)


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    fixtures = args[0] if args else os.environ.get(
        "BS_FIXTURES", os.path.join(HERE, "..", "fixtures", "bitbucket"))
    bad = 0
    with open(os.path.join(fixtures, "index.tsv")) as f:
        rows = [l.rstrip("\n").split("\t") for l in f][1:]
    for rel, key, product in rows:
        text = expect(os.path.join(fixtures, rel), key, product)
        out = os.path.join(HERE, rel[:-len(".json")] + ".txt")
        if check:
            with open(out, encoding="utf-8") as f:
                if f.read() != text:
                    print("differs:", out)
                    bad += 1
            continue
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    print("%d fixtures, %d differ" % (len(rows), bad) if check
          else "%d golden files written" % len(rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
