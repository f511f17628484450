"""The Bitbucket API fake (bb_api.py) checked on its own, over real HTTP:
both products' pagination (Cloud next links with page, DC start/limit/
nextPageStart), include/exclude and since/until semantics with merges,
branch names and hash prefixes, single commits and default branches, the
shapes of the commit JSON (from the fixtures), auth (Bearer, Basic),
fail_next with Retry-After, outage (503 and closed connections),
page_delay, rate_limit, and the request log."""
import base64
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402
from bb_api import FakeBitbucket  # noqa: E402

REPO = "acme/shop"
CLOUD = "/2.0/repositories/acme/shop"
DC = "/rest/api/1.0/projects/ACME/repos/shop"


def get(bb, path, headers=None, timeout=10):
    """(status, headers dict lower-case, parsed JSON body or None)."""
    c = http.client.HTTPConnection("127.0.0.1", bb.port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        raw = r.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def cloud_all(bb, query):
    """Follows Cloud next links; returns (hashes, pages)."""
    path, out, pages = CLOUD + "/commits?" + query, [], 0
    while path:
        st, _, body = get(bb, path)
        assert st == 200, (st, body)
        pages += 1
        out += [v["hash"] for v in body["values"]]
        nxt = body.get("next")
        if nxt:
            assert nxt.startswith(bb.url + "/2.0/"), nxt
            path = nxt[len(bb.url):]
        else:
            path = None
    return out, pages


def dc_all(bb, query, limit):
    start, out, pages = 0, [], 0
    while True:
        st, _, body = get(bb, "%s/commits?%s&start=%d&limit=%d" % (DC, query, start, limit))
        assert st == 200, (st, body)
        pages += 1
        assert body["start"] == start and body["limit"] == limit and body["size"] == len(body["values"])
        out += [v["id"] for v in body["values"]]
        if body["isLastPage"]:
            assert "nextPageStart" not in body
            return out, pages
        assert body["nextPageStart"] == start + len(body["values"])
        start = body["nextPageStart"]


def graph(bb):
    """main: a..e linear (a oldest); feature from b: f, g; merge m of e and g
    on main; h on top of m. Returns the hashes by letter."""
    a, b, c, d, e = bb.linear(REPO, 5, branch="main")
    f, g = bb.linear(REPO, 2, parent=b, branch="feature")
    m = bb.add_commit(REPO, None, [e, g], "Merged in feature (pull request #1)")
    h = bb.add_commit(REPO, None, [m], "SHOP-99: after the merge", author_raw="Bob <bob@example.com>",
                      user={"nickname": "bob", "display_name": "Bob B"})
    bb.set_branch(REPO, "main", h)
    return dict(a=a, b=b, c=c, d=d, e=e, f=f, g=g, m=m, h=h)


def test_cloud_listing_and_pagination():
    with FakeBitbucket(cloud_pagelen=3) as bb:
        x = graph(bb)
        got, pages = cloud_all(bb, "include=main")
        assert set(got) == set(x.values()) and len(got) == 9, got
        assert pages == 3
        # children before parents
        pos = {hh: i for i, hh in enumerate(got)}
        assert pos[x["h"]] < pos[x["m"]] < pos[x["e"]] < pos[x["d"]] and pos[x["m"]] < pos[x["g"]] < pos[x["f"]]
        assert got[-1] == x["a"]
        # include minus exclude, a merge brings the feature branch's commits
        got, _ = cloud_all(bb, "include=%s&exclude=%s" % (x["h"], x["e"]))
        assert got == [x["h"], x["m"], x["g"], x["f"]], got
        # branch names and 12-character prefixes; exclude may repeat
        got, _ = cloud_all(bb, "include=main&exclude=feature&exclude=%s" % x["d"][:12])
        assert got == [x["h"], x["m"], x["e"]], got
        got, _ = cloud_all(bb, "include=feature&exclude=main")
        assert got == [], got
        got, _ = cloud_all(bb, "include=%s&include=%s&exclude=%s" % (x["c"], x["g"], x["b"]))
        assert set(got) == {x["c"], x["g"], x["f"]}, got
        # pagelen from the query; next keeps include/exclude
        st, _, body = get(bb, CLOUD + "/commits?include=main&exclude=%s&pagelen=2" % x["a"])
        assert st == 200 and len(body["values"]) == 2 and body["pagelen"] == 2 and body["page"] == 1
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(body["next"]).query)
        assert q == {"include": ["main"], "exclude": [x["a"]], "pagelen": ["2"], "page": ["2"]}, q
        # the last page has no next; a page past the end is empty
        st, _, body = get(bb, CLOUD + "/commits?include=main&page=3")
        assert st == 200 and len(body["values"]) == 3 and "next" not in body
        st, _, body = get(bb, CLOUD + "/commits?include=main&page=9")
        assert st == 200 and body["values"] == [] and "next" not in body
        # /commits/{rev} and no include at all (every branch)
        got, _ = cloud_all(bb, "")
        assert len(got) == 9
        st, _, body = get(bb, CLOUD + "/commits/feature?exclude=" + x["a"])
        assert [v["hash"] for v in body["values"]] == [x["g"], x["f"], x["b"]]
        # unknown revisions
        st, _, body = get(bb, CLOUD + "/commits?include=nope")
        assert st == 404 and body["type"] == "error" and "message" in body["error"], body
        st, _, body = get(bb, "/2.0/repositories/acme/other/commits")
        assert st == 404 and body["type"] == "error"


def test_cloud_shapes():
    with FakeBitbucket() as bb:
        x = graph(bb)
        st, _, c = get(bb, CLOUD + "/commit/" + x["h"][:12])
        assert st == 200 and c["hash"] == x["h"] and c["type"] == "commit"
        assert c["message"] == "SHOP-99: after the merge" and c["summary"]["raw"] == c["message"]
        assert c["author"]["raw"] == "Bob <bob@example.com>" and c["author"]["user"]["nickname"] == "bob"
        assert c["author"]["user"]["display_name"] == "Bob B"
        assert [p["hash"] for p in c["parents"]] == [x["m"]]
        assert x["m"] in c["parents"][0]["links"]["self"]["href"]
        assert c["links"]["html"]["href"] == "https://bitbucket.org/acme/shop/commits/" + x["h"]
        assert c["links"]["self"]["href"] == bb.url + CLOUD + "/commit/" + x["h"]
        assert c["date"].endswith("+00:00")
        st, _, c = get(bb, CLOUD + "/commit/" + x["m"])
        assert [p["hash"] for p in c["parents"]] == [x["e"], x["g"]]
        assert "user" not in c["author"] and c["author"]["raw"] == "Name <e@x>"
        st, _, c = get(bb, CLOUD + "/commit/" + x["a"])
        assert c["parents"] == [] and c["message"] == "SHOP-1: change 1"
        st, _, body = get(bb, CLOUD + "/commit/0123456789ab")
        assert st == 404 and body == {"type": "error", "error": {"message": "Commit not found"}}
        st, _, r = get(bb, CLOUD)
        assert st == 200 and r["full_name"] == REPO and r["mainbranch"] == {"name": "main", "type": "branch"}
        bb.set_main(REPO, "feature")
        assert get(bb, CLOUD)[2]["mainbranch"]["name"] == "feature"
        # both products read the same graph
        st, _, d = get(bb, DC + "/commits/" + x["h"])
        assert st == 200 and d["id"] == x["h"] and d["displayId"] == x["h"][:11]
        assert d["author"]["name"] == "bob" and d["author"]["slug"] == "bob"
        assert d["author"]["displayName"] == "Bob B" and d["author"]["emailAddress"] == "bob@example.com"
        # explicit dates
        bb.add_commit(REPO, "ab" * 20, [x["h"]], "dated", date="2026-05-21T14:56:36+02:00")
        st, _, c = get(bb, CLOUD + "/commit/" + "ab" * 20)
        assert c["date"] == "2026-05-21T14:56:36+02:00", c["date"]
        st, _, d = get(bb, DC + "/commits/" + "ab" * 20)
        assert d["authorTimestamp"] == 1779368196000, d["authorTimestamp"]


def test_dc_listing_and_pagination():
    with FakeBitbucket(dc_limit=4) as bb:
        x = graph(bb)
        got, pages = dc_all(bb, "until=main", 4)
        assert len(got) == 9 and pages == 3 and got[0] == x["h"] and got[-1] == x["a"]
        got, _ = dc_all(bb, "since=%s&until=%s" % (x["e"], x["h"]), 2)
        assert got == [x["h"], x["m"], x["g"], x["f"]], got
        got, _ = dc_all(bb, "since=feature", 10)    # until defaults to the default branch
        assert got == [x["h"], x["m"], x["e"], x["d"], x["c"]], got
        st, _, body = get(bb, DC + "/commits?until=main")
        assert body["limit"] == 4 and body["nextPageStart"] == 4 and not body["isLastPage"]
        st, _, body = get(bb, DC + "/commits?until=main&start=8&limit=4")
        assert body["isLastPage"] and body["values"][0]["id"] == x["a"] and body["values"][0]["parents"] == []
        v = get(bb, DC + "/commits/" + x["m"])[2]
        assert [p["id"] for p in v["parents"]] == [x["e"], x["g"]]
        assert v["author"] == {"name": "Name", "emailAddress": "e@x"} and v["committer"] == v["author"]
        assert isinstance(v["authorTimestamp"], int) and v["committerTimestamp"] == v["authorTimestamp"]
        st, _, body = get(bb, DC + "/commits/" + "0" * 40)
        assert st == 404 and body["errors"][0]["message"].startswith("Commit"), body
        st, _, body = get(bb, DC + "/commits?until=nope")
        assert st == 404 and "errors" in body
        st, _, b = get(bb, DC + "/branches/default")
        assert st == 200 and b == {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH",
                                   "latestCommit": x["h"], "latestChangeset": x["h"], "isDefault": True}, b
        assert get(bb, "/rest/api/latest/projects/acme/repos/shop/branches/default")[0] == 200
        with FakeBitbucket() as empty:
            empty.add_commit("p/r", None, [], "lonely")
            assert get(empty, "/rest/api/1.0/projects/P/repos/r/branches/default")[0] == 404
            assert get(empty, "/2.0/repositories/p/r")[2]["mainbranch"] is None


def test_auth():
    with FakeBitbucket(require_auth=("bearer", "T0k")) as bb:
        bb.linear(REPO, 1, branch="main")
        st, hd, body = get(bb, CLOUD)
        assert st == 401 and body["type"] == "error" and "www-authenticate" in hd
        assert get(bb, CLOUD, {"Authorization": "Bearer wrong"})[0] == 401
        assert get(bb, CLOUD, {"Authorization": "Bearer T0k"})[0] == 200
        st, _, body = get(bb, DC + "/branches/default")
        assert st == 401 and "errors" in body
        assert bb.requests[-1].headers.get("authorization") is None
    with FakeBitbucket(require_auth=("basic", "ann", "pw:x")) as bb:
        bb.linear(REPO, 1, branch="main")
        good = "Basic " + base64.b64encode(b"ann:pw:x").decode()
        assert get(bb, DC + "/branches/default", {"Authorization": good})[0] == 200
        assert get(bb, DC + "/branches/default", {"Authorization": "Bearer pw:x"})[0] == 401
        assert get(bb, DC + "/branches/default")[0] == 401


def test_faults():
    with FakeBitbucket() as bb:
        bb.linear(REPO, 3, branch="main")
        bb.fail_next(2, status=429, retry_after=7)
        st, hd, body = get(bb, CLOUD)
        assert st == 429 and hd["retry-after"] == "7" and body["type"] == "error"
        st, hd, body = get(bb, DC + "/branches/default")
        assert st == 429 and hd["retry-after"] == "7" and "errors" in body
        assert get(bb, CLOUD)[0] == 200
        bb.fail_next(1, status=500, body={"custom": 1})
        st, hd, body = get(bb, CLOUD)
        assert st == 500 and body == {"custom": 1} and "retry-after" not in hd
        # outage: 503, then connections closed unanswered, then back
        bb.outage(True)
        assert get(bb, CLOUD)[0] == 503
        assert get(bb, DC + "/commits")[0] == 503
        bb.outage(True, mode="close")
        try:
            get(bb, CLOUD)
            raise AssertionError("an answer during a closing outage")
        except (http.client.HTTPException, ConnectionError, OSError):
            pass
        bb.outage(False)
        assert get(bb, CLOUD)[0] == 200
        # page_delay slows the listings only
        bb.page_delay(0.4)
        t0 = time.time()
        assert get(bb, CLOUD + "/commits?include=main")[0] == 200
        assert get(bb, DC + "/commits")[0] == 200
        assert time.time() - t0 >= 0.8
        t0 = time.time()
        assert get(bb, CLOUD)[0] == 200 and time.time() - t0 < 0.3
        bb.page_delay(0)
        # rate limit: 3 per 2 s window, then 429 with Retry-After
        bb.rate_limit(3, 2.0)
        assert [get(bb, CLOUD)[0] for _ in range(3)] == [200] * 3
        st, hd, _ = get(bb, CLOUD)
        assert st == 429 and 1 <= int(hd["retry-after"]) <= 2, hd
        H.wait_for(lambda: get(bb, CLOUD)[0] == 200, timeout=5, what="the rate-limit window to pass")
        bb.rate_limit(None)
        assert all(get(bb, CLOUD)[0] == 200 for _ in range(10))


def test_thread_safety_and_log():
    with FakeBitbucket(cloud_pagelen=5) as bb:
        bb.linear(REPO, 40, branch="main")
        bb.reset_log()
        errors = []

        def worker():
            try:
                got, _ = cloud_all(bb, "include=main")
                assert len(got) == 40
            except Exception as e:   # reported below
                errors.append(e)

        def faults():
            for _ in range(20):
                bb.fail_next(0)
                bb.page_delay(0)
                bb.rate_limit(None)

        ts = [threading.Thread(target=worker) for _ in range(8)] + [threading.Thread(target=faults)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        assert not errors, errors
        assert bb.count("/commits") == 8 * 8, bb.count("/commits")
        r = bb.requests[0]
        method, path, query, headers, at = r
        assert method == "GET" and path == CLOUD + "/commits" and query["include"] == ["main"]
        assert "host" in headers and isinstance(at, float)
        assert sum(1 for r in bb.requests if r.query.get("page") == ["8"]) == 8
        bb.reset_log()
        assert bb.count() == 0 and bb.requests == []


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
