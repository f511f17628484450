"""A loopback stand-in for Bitbucket's REST API (issue 12), Cloud and Data
Center from one in-memory commit graph per repository.

    with FakeBitbucket() as bb:
        base = bb.linear("acme/shop", 3, branch="main")   # oldest..newest
        ... bb.url ...                                     # http://127.0.0.1:PORT

A repository "ws/repo" is served at /2.0/repositories/ws/repo (Cloud) and at
/rest/api/1.0/projects/WS/repos/repo (Data Center; the project key matches
case-insensitively, "latest" works for "1.0"):

  Cloud  GET /2.0/repositories/{ws}/{repo}/commits?include=X&exclude=Y&page=&pagelen=
         GET /2.0/repositories/{ws}/{repo}/commits/{rev}   (include=rev)
         GET /2.0/repositories/{ws}/{repo}/commit/{rev}
         GET /2.0/repositories/{ws}/{repo}
         GET /2.0/repositories/{ws}/{repo}/diffstat/{spec}  (spec "new..old" or one rev)
  DC     GET /rest/api/1.0/projects/{P}/repos/{r}/commits?since=&until=&start=&limit=
         GET /rest/api/1.0/projects/{P}/repos/{r}/commits/{id}
         GET /rest/api/1.0/projects/{P}/repos/{r}/branches/default
         GET /rest/api/1.0/projects/{P}/repos/{r}/changes?since=&until=&start=&limit=

A revision is a full hash, a unique prefix of at least 7 hex digits, or a
branch name. A listing is every commit reachable from the includes (Cloud
without include: from every branch; DC without until: from the default
branch) and not from the excludes, newest first in topological order
(children before parents, the newest date first among the ready ones,
as git log --topo-order --date-order). Each commit carries the list of file
paths it changes (add_commit/linear `files`, default ["README.md"]); the
files of "new..old" (Cloud diffstat) or since..until (DC changes) are those
of the commits reachable from new and not from old, in listing order
without repeats, and of a single revision (no old / no since) that commit's
own. Commit JSON is built from a real
fixture commit of each product with hash, message, parents, date and author
replaced, so the shapes are the real ones. Errors look like Bitbucket's:
Cloud {"type":"error","error":{"message":...}}, DC {"errors":[{...}]}.

Faults, callable from any thread: fail_next(), outage(), page_delay(),
rate_limit(); observation: .requests (Request tuples: method, path, query
dict of lists, headers dict with lower-case names, time), count(), reset_log().
Only the Python standard library is used.
"""
import base64
import collections
import copy
import datetime
import hashlib
import heapq
import http.server
import json
import math
import os
import re
import threading
import time
import urllib.parse

SOURCE_DIR = os.environ.get("BS_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
FIXTURES = os.environ.get("BS_FIXTURES", os.path.join(SOURCE_DIR, "tests", "fixtures", "bitbucket"))
CLOUD_TEMPLATE = "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-16-123921.json"
DC_TEMPLATE = "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_update_with-commits.json"
BASE_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

Request = collections.namedtuple("Request", "method path query headers time")


def _load(rel):
    with open(os.path.join(FIXTURES, rel), "rb") as f:
        return json.loads(f.read())


def _templates():
    cloud = _load(CLOUD_TEMPLATE)
    repo = cloud["repository"]["full_name"]
    commit = cloud["push"]["changes"][0]["commits"][0]
    dc = _load(DC_TEMPLATE)["commits"][0]
    return repo, commit, dc


def split_raw(raw):
    """git's "Name <email>" -> (name, email or None)."""
    m = re.match(r"\s*(.*?)\s*<([^>]*)>", raw or "")
    if not m:
        return (raw or "").strip(), None
    return m.group(1), m.group(2).strip() or None


def _as_date(d):
    if isinstance(d, datetime.datetime):
        return d if d.tzinfo else d.replace(tzinfo=datetime.timezone.utc)
    if isinstance(d, (int, float)):
        return datetime.datetime.fromtimestamp(d, datetime.timezone.utc)
    return datetime.datetime.fromisoformat(d.replace("Z", "+00:00"))


class _Commit:
    __slots__ = ("hash", "parents", "message", "author_raw", "date", "user", "seq", "files")


class _Repo:
    def __init__(self, name):
        self.name = name
        self.commits = {}
        self.branches = {}
        self.main = None
        self.counter = 0     # issue-key numbers of linear()

    def resolve(self, rev):
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.commits:
            return rev
        if len(rev) >= 7 and re.fullmatch(r"[0-9a-fA-F]+", rev):
            hits = [h for h in self.commits if h.startswith(rev.lower())]
            if len(hits) == 1:
                return hits[0]
        return None

    def reachable(self, heads):
        seen, todo = set(), list(heads)
        while todo:
            h = todo.pop()
            if h in seen or h not in self.commits:
                continue
            seen.add(h)
            todo.extend(self.commits[h].parents)
        return seen

    def listing(self, include, exclude):
        """Hashes reachable from include and not from exclude, children first,
        the newest among the ready ones first."""
        want = self.reachable(include) - self.reachable(exclude)
        children = {h: 0 for h in want}
        for h in want:
            for p in self.commits[h].parents:
                if p in children:
                    children[p] += 1
        ready = [(-self.commits[h].date.timestamp(), -self.commits[h].seq, h)
                 for h in want if children[h] == 0]
        heapq.heapify(ready)
        out = []
        while ready:
            _, _, h = heapq.heappop(ready)
            out.append(h)
            for p in self.commits[h].parents:
                if p in children:
                    children[p] -= 1
                    if children[p] == 0:
                        c = self.commits[p]
                        heapq.heappush(ready, (-c.date.timestamp(), -c.seq, p))
        return out


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class FakeBitbucket:
    """The fake; see the module docstring. require_auth is None, ("bearer",
    TOKEN) or ("basic", USER, PASSWORD): requests without that Authorization
    header get 401. cloud_pagelen / dc_limit are the default page sizes;
    max_page, when set, caps what a client asks for (servers cap a page:
    Data Center's page.max.*, Cloud's 100)."""

    def __init__(self, require_auth=None, cloud_pagelen=30, dc_limit=25, max_page=None, diffstat_pagelen=500):
        self.max_page = max_page
        self.diffstat_pagelen = diffstat_pagelen
        self.require_auth = require_auth
        self.cloud_pagelen = cloud_pagelen
        self.dc_limit = dc_limit
        self.requests = []
        self.lock = threading.Lock()
        self._repos = {}
        self._seq = 0
        self._fail = collections.deque()
        self._outage = None
        self._delay = 0.0
        self._rate = None           # (per_window, window_s)
        self._hits = collections.deque()
        self._stop = threading.Event()
        self._tpl_repo, self._tpl_cloud, self._tpl_dc = _templates()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ lifetime
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ graph
    def _repo(self, name):
        key = name.lower()
        if key not in self._repos:
            self._repos[key] = _Repo(name)
        return self._repos[key]

    def add_commit(self, repo, hash, parents, message, author_raw="Name <e@x>", date=None, user=None, files=None):
        """Adds a commit (hash None: one is made up) with parent hashes
        `parents` (oldest first as git stores them), `date` a datetime, epoch
        seconds or ISO string (default: one minute after the previous
        commit), `user` an optional dict(nickname=, display_name=) for a
        commit whose email maps to a Bitbucket account, `files` the paths it
        changes (default ["README.md"]). Returns the hash."""
        with self.lock:
            r = self._repo(repo)
            self._seq += 1
            if hash is None:
                hash = hashlib.sha1(("%s\0%d\0%s" % (repo, self._seq, message)).encode()).hexdigest()
            c = _Commit()
            c.hash = hash.lower()
            c.parents = [p.lower() for p in (parents or [])]
            c.message = message
            c.author_raw = author_raw
            c.date = _as_date(date) if date is not None else BASE_DATE + datetime.timedelta(minutes=self._seq)
            c.user = user
            c.seq = self._seq
            c.files = list(files) if files is not None else ["README.md"]
            r.commits[c.hash] = c
            return c.hash

    def set_branch(self, repo, name, hash):
        with self.lock:
            r = self._repo(repo)
            r.branches[name] = hash.lower()
            if r.main is None:
                r.main = name

    def set_main(self, repo, name):
        with self.lock:
            self._repo(repo).main = name

    def linear(self, repo, n, parent=None, key_prefix="SHOP", author="Ann Dev <ann@example.com>", branch=None,
               user=None, files=None):
        """n commits in a row on top of `parent` (None: a new root), messages
        "SHOP-<i>: change i" with i counting on per repository; moves
        `branch` to the newest when given; each changes `files` (a list, or
        a function of the commit's index 0..n-1 returning one; default
        ["README.md"]). Returns the hashes oldest..newest."""
        out = []
        for _ in range(n):
            with self.lock:
                r = self._repo(repo)
                r.counter += 1
                i = r.counter
            k = len(out)
            parent = self.add_commit(repo, None, [parent] if parent else [], "%s-%d: change %d" % (key_prefix, i, i),
                                     author_raw=author, user=user, files=files(k) if callable(files) else files)
            out.append(parent)
        if branch and out:
            self.set_branch(repo, branch, out[-1])
        return out

    def head(self, repo, branch):
        with self.lock:
            return self._repo(repo).branches.get(branch)

    # ------------------------------------------------------------ faults
    def fail_next(self, n, status=429, retry_after=None, body=None):
        """The next n requests are answered `status` (with Retry-After when
        given, `body` as JSON or text, default the product's error body)."""
        with self.lock:
            for _ in range(n):
                self._fail.append((status, retry_after, body))

    def outage(self, on, mode="503"):
        """While on, every request gets 503 (mode "503") or has its
        connection closed without an answer (mode "close")."""
        with self.lock:
            self._outage = mode if on else None

    def page_delay(self, seconds):
        """Each commit listing page is answered after `seconds`."""
        with self.lock:
            self._delay = seconds

    def rate_limit(self, per_window, window_s=1.0):
        """At most per_window requests per sliding window_s seconds, the
        others 429 with Retry-After (whole seconds until a slot frees);
        per_window None turns it off."""
        with self.lock:
            self._rate = None if per_window is None else (per_window, window_s)
            self._hits.clear()

    # ------------------------------------------------------------ observation
    def count(self, path_substring=""):
        with self.lock:
            return sum(1 for r in self.requests if path_substring in r.path)

    def reset_log(self):
        with self.lock:
            del self.requests[:]

    # ------------------------------------------------------------ JSON
    def _cloud_commit(self, repo, c):
        t = copy.deepcopy(self._tpl_cloud)
        old_hash, old_repo = t["hash"], self._tpl_repo

        def relink(obj, h):
            text = json.dumps(obj).replace(old_hash, h).replace(old_repo, repo.name)
            return json.loads(text.replace("https://api.bitbucket.org", self.url))

        links = t["links"]
        t["hash"] = c.hash
        t["date"] = c.date.isoformat()
        t["message"] = c.message
        t["summary"]["raw"] = c.message
        t["summary"]["html"] = "<p>%s</p>" % (c.message.replace("&", "&amp;").replace("<", "&lt;"))
        author = {"type": "author", "raw": c.author_raw}
        if c.user:
            u = copy.deepcopy(t["author"]["user"])
            u["display_name"] = c.user.get("display_name", split_raw(c.author_raw)[0])
            u["nickname"] = c.user.get("nickname", u["display_name"])
            author["user"] = u
        t["author"] = author
        t["links"] = relink(links, c.hash)
        ptpl = t["parents"][0]
        t["parents"] = []
        for p in c.parents:
            e = copy.deepcopy(ptpl)
            old = e["hash"]
            e["hash"] = p
            e["links"] = json.loads(json.dumps(relink(e["links"], p)).replace(old, p))
            t["parents"].append(e)
        return t

    def _dc_commit(self, c):
        t = copy.deepcopy(self._tpl_dc)
        name, email = split_raw(c.author_raw)
        if c.user:
            who = copy.deepcopy(t["author"])
            nick = c.user.get("nickname", name)
            who.update(name=nick, slug=nick.lower(), displayName=c.user.get("display_name", name),
                       emailAddress=email)
            who["links"] = {"self": [{"href": "%s/users/%s" % (self.url, nick.lower())}]}
        else:
            who = {"name": name, "emailAddress": email}
        ms = int(c.date.timestamp() * 1000)
        t.update(id=c.hash, displayId=c.hash[:11], message=c.message, author=who, committer=copy.deepcopy(who),
                 authorTimestamp=ms, committerTimestamp=ms,
                 parents=[{"id": p, "displayId": p[:11]} for p in c.parents])
        return t

    # ------------------------------------------------------------ HTTP
    @staticmethod
    def _error(product, status, message):
        if product == "dc":
            return {"errors": [{"context": None, "message": message, "exceptionName": None}]}
        return {"type": "error", "error": {"message": message}}

    def _authorized(self, headers):
        want = self.require_auth
        if not want:
            return True
        got = headers.get("authorization", "")
        if want[0] == "bearer":
            return got == "Bearer " + want[1]
        if want[0] == "basic":
            return got == "Basic " + base64.b64encode(("%s:%s" % (want[1], want[2])).encode()).decode()
        return False

    def _send(self, h, status, body, extra=None):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        h.send_response(status)
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Type", "application/json;charset=UTF-8" if not isinstance(body, str)
                      else "text/plain")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        try:
            h.wfile.write(data)
        except OSError:
            pass

    def _handle(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        if n:
            h.rfile.read(n)
        parts = urllib.parse.urlsplit(h.path)
        path = urllib.parse.unquote(parts.path)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in h.headers.items()}
        product = "dc" if path.startswith("/rest/") else "cloud"
        now = time.time()
        with self.lock:
            self.requests.append(Request(h.command, path, query, headers, now))
            outage = self._outage
            fail = self._fail.popleft() if (self._fail and not outage) else None
            retry = None
            if not outage and not fail and self._rate:
                per, window = self._rate
                while self._hits and self._hits[0] <= now - window:
                    self._hits.popleft()
                if len(self._hits) >= per:
                    retry = max(1, math.ceil(self._hits[0] + window - now))
                else:
                    self._hits.append(now)
            delay = self._delay
        if outage == "close":
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        if outage:
            return self._send(h, 503, self._error(product, 503, "Service Unavailable"), {"Connection": "close"})
        if fail:
            status, retry_after, body = fail
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return self._send(h, status, body if body is not None else self._error(product, status, "fault"), extra)
        if retry is not None:
            return self._send(h, 429, self._error(product, 429, "Rate limit for this resource has been exceeded"),
                              {"Retry-After": str(retry)})
        if not self._authorized(headers):
            return self._send(h, 401, self._error(product, 401, "Authentication failed"),
                              {"WWW-Authenticate": 'Bearer realm="Bitbucket"' if (self.require_auth or ("",))[0] ==
                               "bearer" else 'Basic realm="Bitbucket"'})
        if h.command != "GET":
            return self._send(h, 405, self._error(product, 405, "Method not allowed"))
        try:
            status, body = self._route(product, path, query, delay)
        except Exception as e:   # a bug of the fake must show, not hang the client
            status, body = 500, self._error(product, 500, "fake: %r" % (e,))
        self._send(h, status, body)

    def _route(self, product, path, q, delay):
        if product == "cloud":
            m = re.fullmatch(r"/2\.0/repositories/([^/]+)/([^/]+)(/.*)?", path)
            if not m:
                return 404, self._error(product, 404, "Resource not found")
            repo_name, rest = "%s/%s" % (m.group(1), m.group(2)), m.group(3) or ""
        else:
            m = re.fullmatch(r"/rest/api/(?:1\.0|latest)/projects/([^/]+)/repos/([^/]+)(/.*)?", path)
            if not m:
                return 404, self._error(product, 404, "Resource not found")
            repo_name, rest = "%s/%s" % (m.group(1), m.group(2)), m.group(3) or ""
        with self.lock:
            repo = self._repos.get(repo_name.lower())
        if repo is None:
            return 404, self._error(product, 404, "Repository %s does not exist" % repo_name)
        if product == "cloud":
            return self._cloud(repo, rest, q, delay)
        return self._dc(repo, rest, q, delay)

    def _cloud(self, repo, rest, q, delay):
        err = lambda s, msg: (s, self._error("cloud", s, msg))  # noqa: E731
        if rest in ("", "/"):
            with self.lock:
                main = repo.main
            return 200, {"type": "repository", "full_name": repo.name, "name": repo.name.split("/")[1],
                         "scm": "git", "is_private": True,
                         "mainbranch": {"name": main, "type": "branch"} if main else None,
                         "links": {"html": {"href": "https://bitbucket.org/%s" % repo.name}}}
        m = re.fullmatch(r"/commit/([^/]+)/?", rest)
        if m:
            with self.lock:
                h = repo.resolve(m.group(1))
                if h is None:
                    return err(404, "Commit not found")
                return 200, self._cloud_commit(repo, repo.commits[h])
        m = re.fullmatch(r"/diffstat/([^/]+)/?", rest)
        if m:
            return self._cloud_diffstat(repo, m.group(1), q, delay)
        m = re.fullmatch(r"/commits(?:/([^/]+))?/?", rest)
        if not m:
            return err(404, "Resource not found")
        inc = q.get("include", []) + ([m.group(1)] if m.group(1) else [])
        exc = q.get("exclude", [])
        page, pagelen = self._cloud_page(q, self.cloud_pagelen, 100)
        if page is None:
            return err(400, "Invalid page or pagelen")
        with self.lock:
            heads = [repo.resolve(r) for r in inc] if inc else list(repo.branches.values())
            bases = [repo.resolve(r) for r in exc]
            if None in heads or None in bases:
                bad = [r for r in inc + exc if repo.resolve(r) is None][0]
                return err(404, "Commit not found: %s" % bad)
            hashes = repo.listing(heads, bases)
            chunk = hashes[(page - 1) * pagelen:page * pagelen]
            values = [self._cloud_commit(repo, repo.commits[h]) for h in chunk]
        if delay:
            self._stop.wait(delay)
        body = {"values": values, "pagelen": pagelen, "page": page}
        if page * pagelen < len(hashes):
            nq = [(k, v) for k, vs in q.items() if k != "page" for v in vs] + [("page", str(page + 1))]
            body["next"] = "%s/2.0/repositories/%s/commits%s?%s" % (
                self.url, repo.name, "/" + m.group(1) if m.group(1) else "", urllib.parse.urlencode(nq))
        return 200, body

    def _dc(self, repo, rest, q, delay):
        err = lambda s, msg: (s, self._error("dc", s, msg))  # noqa: E731
        if rest.rstrip("/") == "/branches/default":
            with self.lock:
                main = repo.main
                head = repo.branches.get(main) if main else None
            if not head:
                return err(404, "Repository %s does not have a default branch" % repo.name)
            return 200, {"id": "refs/heads/" + main, "displayId": main, "type": "BRANCH", "latestCommit": head,
                         "latestChangeset": head, "isDefault": True}
        m = re.fullmatch(r"/commits/([^/]+)/?", rest)
        if m:
            with self.lock:
                h = repo.resolve(m.group(1))
                if h is None:
                    return err(404, "Commit '%s' does not exist in repository '%s'" % (m.group(1), repo.name))
                return 200, self._dc_commit(repo.commits[h])
        if rest.rstrip("/") == "/changes":
            return self._dc_changes(repo, q, delay)
        if rest.rstrip("/") != "/commits":
            return err(404, "Resource not found")
        try:
            start = int(q.get("start", ["0"])[0])
            limit = int(q.get("limit", [str(self.dc_limit)])[0])
            if self.max_page and limit > self.max_page:
                limit = self.max_page
        except ValueError:
            return err(400, "Invalid start or limit")
        if start < 0 or limit < 1:
            return err(400, "Invalid start or limit")
        with self.lock:
            until = q.get("until", [None])[0] or repo.main
            heads = [repo.resolve(until)] if until else []
            since = q.get("since", [None])[0]
            bases = [repo.resolve(since)] if since else []
            if None in heads or None in bases:
                return err(404, "Commit '%s' does not exist in repository '%s'" % (
                    until if None in heads else since, repo.name))
            hashes = repo.listing(heads, bases)
            chunk = hashes[start:start + limit]
            values = [self._dc_commit(repo.commits[h]) for h in chunk]
        if delay:
            self._stop.wait(delay)
        last = start + limit >= len(hashes)
        body = {"values": values, "size": len(values), "isLastPage": last, "start": start, "limit": limit}
        if not last:
            body["nextPageStart"] = start + len(values)
        return 200, body

    # ------------------------------------------------------------ changed files
    def _files(self, repo, new, old):
        """Paths changed by the commits reachable from new and not from old
        (old None: new's own), in listing order without repeats; None when a
        revision is unknown. Called with the lock held."""
        h = repo.resolve(new)
        b = repo.resolve(old) if old is not None else None
        if h is None or (old is not None and b is None):
            return None
        hashes = repo.listing([h], [b]) if old is not None else [h]
        out, seen = [], set()
        for x in hashes:
            for path in repo.commits[x].files:
                if path not in seen:
                    seen.add(path)
                    out.append(path)
        return out

    def _cloud_page(self, q, default_len, cap):
        """Cloud's page and pagelen query parameters (pagelen cut to
        max_page when set), or (None, None) when either is not a number,
        page < 1, or pagelen is outside 1..cap: Cloud answers those 400."""
        try:
            page = int(q.get("page", ["1"])[0])
            pagelen = int(q.get("pagelen", [str(default_len)])[0])
        except ValueError:
            return None, None
        if self.max_page and pagelen > self.max_page:
            pagelen = self.max_page
        if page < 1 or pagelen < 1 or pagelen > cap:
            return None, None
        return page, pagelen

    def _cloud_diffstat(self, repo, spec, q, delay):
        err = lambda s, msg: (s, self._error("cloud", s, msg))  # noqa: E731
        new, _, old = spec.partition("..")
        page, pagelen = self._cloud_page(q, self.diffstat_pagelen, 500)
        if page is None:
            return err(400, "Invalid page or pagelen")
        with self.lock:
            files = self._files(repo, new, old or None)
        if files is None:
            return err(404, "Commit not found: %s" % spec)
        if delay:
            self._stop.wait(delay)
        chunk = files[(page - 1) * pagelen:page * pagelen]
        values = [{"type": "diffstat", "status": "modified", "lines_added": 1, "lines_removed": 0,
                   "old": {"path": f, "type": "commit_file", "escaped_path": f},
                   "new": {"path": f, "type": "commit_file", "escaped_path": f}} for f in chunk]
        body = {"values": values, "pagelen": pagelen, "page": page, "size": len(files)}
        if page * pagelen < len(files):
            nq = [(k, v) for k, vs in q.items() if k != "page" for v in vs] + [("page", str(page + 1))]
            body["next"] = "%s/2.0/repositories/%s/diffstat/%s?%s" % (
                self.url, repo.name, urllib.parse.quote(spec, safe="."), urllib.parse.urlencode(nq))
        return 200, body

    def _dc_changes(self, repo, q, delay):
        err = lambda s, msg: (s, self._error("dc", s, msg))  # noqa: E731
        try:
            start = int(q.get("start", ["0"])[0])
            limit = int(q.get("limit", [str(self.dc_limit)])[0])
            if self.max_page and limit > self.max_page:
                limit = self.max_page
        except ValueError:
            return err(400, "Invalid start or limit")
        until = q.get("until", [None])[0]
        since = q.get("since", [None])[0] or None
        if start < 0 or limit < 1 or not until:
            return err(400, "Invalid start, limit or until")
        with self.lock:
            files = self._files(repo, until, since)
        if files is None:
            return err(404, "Commit '%s' does not exist in repository '%s'" % (until, repo.name))
        if delay:
            self._stop.wait(delay)
        chunk = files[start:start + limit]
        values = []
        for f in chunk:
            parts = f.split("/")
            path = {"components": parts, "parent": "/".join(parts[:-1]), "name": parts[-1], "toString": f}
            if "." in parts[-1]:
                path["extension"] = parts[-1].rsplit(".", 1)[1]
            values.append({"contentId": hashlib.sha1(f.encode()).hexdigest(), "fromContentId": None,
                           "path": path, "srcPath": None, "executable": False, "percentUnchanged": -1,
                           "type": "MODIFY", "nodeType": "FILE", "srcExecutable": False,
                           "properties": {"gitChangeType": "MODIFY"}})
        last = start + limit >= len(files)
        body = {"fromHash": since, "toHash": until, "values": values, "size": len(values), "isLastPage": last,
                "start": start, "limit": limit, "nextPageStart": None if last else start + len(values)}
        return 200, body
