"""A loopback stand-in for Sleuth's GraphQL endpoint (issue 16), the part
bitsleuth's discovery asks: a project's change sources with their
repository, deploy tracking type, path prefix and environment mappings
(docs/sleuth-api.md §1.8 and §2, the query of parsers/sleuth_graphql.h).

    gql = SleuthGraphQL(keys={"gql-acme": "acme"})
    gql.projects["payments"] = [code_source("pay-web", repo="acme/pay",
                                            envs={"production": "main"}),
                                flag_source("pay-flags")]
    ... gql.url + "/graphql" ...

POST /graphql with {"query": ..., "variables": {"projectSlug": ...}}:
  - `Authorization: apikey <key>` must name one of `keys` (key -> the
    organisation it belongs to, as an organisation API key does); else 401
    "Unauthorized" (plain text, as Sleuth's REST answers). A key in
    `personal_keys` gets 403 (Terraform provider's docs: a personal key is
    refused with 403 Forbidden).
  - The query must ask for `project(projectSlug: ...)`, `changeSources` and
    `environmentMappings`, with a string variable projectSlug; else 400
    {"errors":[{"message": ...}]}, as a GraphQL server answers a bad query.
  - A project is answered only to a key of its organisation
    (`project_org[slug]`, default `default_org`); an unknown project, or
    another organisation's, gets 200 {"errors":[{"message":"Project not
    found",...}],"data":{"project":null}}.
  - Fields are sent only when the query names them (a query that forgets
    `pathPrefix` gets no pathPrefix), like a GraphQL server; a non-CODE
    change source is answered with its `type` alone (the query's fields are
    under `... on CodeChangeSource`).

Faults, callable from any thread: outage("refuse" | "503" | "hang"),
restore(), fail_next(n, status, body), hang(on). Observation: .requests
(dicts: path, headers with lower-case names, raw, json, time, answered),
count(project=None), answered(status), reset_log(). Only the Python
standard library is used. `python3 sleuth_graphql.py` runs a self-check.
"""
import collections
import http.server
import json
import re
import socket
import threading
import time

DEFAULT_ORG = "acme"


def code_source(slug, repo="acme/pay", envs=None, provider="BITBUCKET", tracking="MANUAL",
                path_prefix=None, name=None, url=None):
    """One CodeChangeSource as Sleuth sends it. envs: environment slug ->
    branch (a dict), or a list of (environment, branch) pairs when one
    environment has several; default {"production": "main"}. path_prefix:
    None or "" (none), a dict {"includes": [...], "excludes": [...]} (sent
    as the JSON string the Terraform provider writes), or a string sent
    as is (the UI's comma separated form)."""
    if envs is None:
        envs = {"production": "main"}
    pairs = list(envs.items()) if isinstance(envs, dict) else list(envs)
    owner, _, rname = repo.partition("/")
    if isinstance(path_prefix, dict):
        pp = json.dumps({"includes": path_prefix.get("includes", []),
                         "excludes": path_prefix.get("excludes", [])})
    else:
        pp = path_prefix or ""
    host = {"BITBUCKET": "https://bitbucket.org", "GITHUB": "https://github.com",
            "GITLAB": "https://gitlab.com"}.get(provider.upper(), "https://git.example")
    return {
        "type": "CODE",
        "slug": slug,
        "name": name if name is not None else slug.replace("-", " ").title(),
        "repository": {"owner": owner, "name": rname, "provider": provider,
                       "url": url or "%s/%s" % (host, repo)},
        "deployTrackingType": tracking,
        "pathPrefix": pp,
        "environmentMappings": [{"environmentSlug": e, "branch": b} for e, b in pairs],
    }


def flag_source(slug="flags"):
    """A feature-flag change source: not CODE, so only its type is sent."""
    return {"type": "FLAG", "slug": slug}


# The fields of a CodeChangeSource the stand-in knows, and their subfields.
_CODE_FIELDS = ["slug", "name", "repository", "deployTrackingType", "pathPrefix", "environmentMappings"]
_SUB = {"repository": ["owner", "name", "provider", "url"],
        "environmentMappings": ["environmentSlug", "branch"]}


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


class SleuthGraphQL:
    """See the module docstring."""

    def __init__(self, keys=None, personal_keys=(), default_org=DEFAULT_ORG):
        self.keys = dict(keys if keys is not None else {"gql-key": default_org})
        self.personal_keys = set(personal_keys)
        self.default_org = default_org
        self.projects = {}         # slug -> [source, ...]
        self.project_org = {}      # slug -> org (default default_org)
        self.requests = []
        self.lock = threading.Lock()
        self._fail = collections.deque()
        self._outage = None
        self._hang = False
        self._release = threading.Event()
        self._conns = set()        # open connections, cut by outage("refuse")
        self.server = None
        self.port = 0
        self._start()
        self.url = "http://127.0.0.1:%d" % self.port

    # ------------------------------------------------------------ lifetime
    def _start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                with outer.lock:
                    outer._conns.add(self.connection)

            def finish(self):
                try:
                    super().finish()
                finally:
                    with outer.lock:
                        outer._conns.discard(self.connection)

            def do_POST(self):
                outer._handle(self)

            def do_GET(self):
                outer._send(self, 405, {"errors": [{"message": "POST your query to /graphql"}]},
                            record=self._record(b""))

            def _record(self, raw):
                req = {"path": self.path, "method": self.command,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "raw": raw, "json": None, "time": time.time(), "answered": None}
                with outer.lock:
                    outer.requests.append(req)
                return req

        last = None
        for _ in range(100):     # a rebind after outage("refuse") may wait for the port
            try:
                self.server = _Server(("127.0.0.1", self.port), Handler)
                break
            except OSError as e:
                last = e
                if not self.port:
                    raise
                time.sleep(0.1)
        else:
            raise RuntimeError("cannot listen again on port %d: %s" % (self.port, last))
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _stop(self):
        """Closes the port and cuts the open (keep-alive) connections: a
        client then gets connection refused, not an old connection that
        still answers."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self._release.set()
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ------------------------------------------------------------ faults
    def outage(self, mode="refuse"):
        """"refuse": the port is closed (connection refused) until
        restore(); "503": every request gets 503; "hang": every request
        waits, unanswered, until restore() or close()."""
        assert mode in ("refuse", "503", "hang"), mode
        with self.lock:
            self._outage = mode
        if mode == "refuse":
            self._stop()
        elif mode == "hang":
            self._release.clear()

    def restore(self):
        with self.lock:
            mode, self._outage = self._outage, None
        self._release.set()
        if mode == "refuse" and self.server is None:
            self._start()

    def fail_next(self, n, status=503, body=None):
        with self.lock:
            for _ in range(n):
                self._fail.append((status, body))

    def hang(self, on=True):
        """Requests wait unanswered while on (until hang(False) or close())."""
        with self.lock:
            self._hang = on
        if on:
            self._release.clear()
        else:
            self._release.set()

    # ------------------------------------------------------------ observation
    def count(self, project=None, status=None):
        """Requests received (recorded), of one project's slug and/or
        answered with one status when given."""
        with self.lock:
            reqs = list(self.requests)
        out = 0
        for r in reqs:
            slug = ((r["json"] or {}).get("variables") or {}).get("projectSlug") \
                if isinstance(r["json"], dict) else None
            if project is not None and slug != project:
                continue
            if status is not None and r["answered"] != status:
                continue
            out += 1
        return out

    def answered(self, status=200):
        with self.lock:
            return [r for r in self.requests if r["answered"] == status]

    def reset_log(self):
        with self.lock:
            del self.requests[:]

    def describe(self, last=20):
        """A few lines about the latest requests, for failure messages."""
        with self.lock:
            reqs = list(self.requests)[-last:]
        lines = ["---- Sleuth GraphQL stand-in on port %d: %d requests (outage %s) ----"
                 % (self.port, len(self.requests), self._outage)]
        for r in reqs:
            js = r["json"] if isinstance(r["json"], dict) else {}
            lines.append("  %.3f %s %s project=%s auth=%r answered=%s" % (
                r["time"], r["method"], r["path"], (js.get("variables") or {}).get("projectSlug"),
                r["headers"].get("authorization"), r["answered"]))
        return "\n".join(lines)

    # ------------------------------------------------------------ serving
    def _send(self, h, status, body, record=None, content_type="application/json"):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        if isinstance(body, str) and content_type == "application/json":
            content_type = "text/plain"
        if record is not None:
            record["answered"] = status
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass                   # the client gave up first

    def _handle(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n > 0 else b""
        req = h._record(raw)
        try:
            req["json"] = json.loads(raw)
        except ValueError:
            pass
        with self.lock:
            outage = self._outage
            hang = self._hang
            fail = self._fail.popleft() if (self._fail and not outage) else None
        if outage == "hang" or hang:
            self._release.wait(120)
            h.close_connection = True
            return
        if outage == "503":
            return self._send(h, 503, "Service Unavailable", req)
        if fail:
            status, body = fail
            return self._send(h, status, body if body is not None else "Service Unavailable", req)
        if h.path.split("?")[0] != "/graphql":
            return self._send(h, 404, "Not Found", req)
        key = None
        m = re.match(r"apikey\s+(\S+)\s*$", h.headers.get("Authorization") or "", re.I)
        if m:
            key = m.group(1)
        if key in self.personal_keys:
            return self._send(h, 403, "Forbidden", req)
        if key not in self.keys:
            return self._send(h, 401, "Unauthorized", req)
        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return self._send(h, 400, {"errors": [{"message": "Must provide query string."}]}, req)
        body = req["json"]
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return self._send(h, 400, {"errors": [{"message": "Must provide query string."}]}, req)
        q = body["query"]
        flat = re.sub(r"\s+", "", q)
        for need, what in (("project(projectSlug:", "project(projectSlug: ...)"),
                           ("changeSources", "changeSources"),
                           ("environmentMappings", "environmentMappings"),
                           ("...onCodeChangeSource", "... on CodeChangeSource")):
            if need not in flat:
                return self._send(h, 400, {"errors": [{
                    "message": "the stand-in expects a query with %s (the Terraform provider's)" % what}]}, req)
        var = (body.get("variables") or {}).get("projectSlug") if isinstance(body.get("variables"), dict) else None
        if "$projectSlug" in flat and not isinstance(var, str):
            return self._send(h, 400, {"errors": [{
                "message": "Variable '$projectSlug' of required type 'ID!' was not provided."}]}, req)
        if not isinstance(var, str):
            m = re.search(r'project\(projectSlug:"([^"]*)"\)', flat)
            var = m.group(1) if m else None
        org = self.keys[key]
        with self.lock:
            sources = self.projects.get(var)
            sources = json.loads(json.dumps(sources)) if sources is not None else None
            p_org = self.project_org.get(var, self.default_org)
        if sources is None or p_org != org:
            return self._send(h, 200, {
                "errors": [{"message": "Project not found", "locations": [{"line": 1, "column": 30}],
                            "path": ["project"]}],
                "data": {"project": None}}, req)
        asked = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", q))
        out = []
        for s in sources:
            t = s.get("type", "CODE")
            item = {}
            if "type" in asked:
                item["type"] = t
            if "__typename" in asked:
                item["__typename"] = "CodeChangeSource" if t == "CODE" else "FeatureFlagChangeSource"
            if t == "CODE":
                for f in _CODE_FIELDS:
                    if f not in asked or f not in s:
                        continue
                    v = s[f]
                    if f in _SUB and v is not None:
                        sub = [x for x in _SUB[f] if x in asked]
                        if isinstance(v, list):
                            v = [{k: e.get(k) for k in sub} for e in v]
                        else:
                            v = {k: v.get(k) for k in sub}
                    item[f] = v
            out.append(item)
        return self._send(h, 200, {"data": {"project": {"changeSources": out}}}, req)


# ---------------------------------------------------------------- self-check

QUERY = ("query($projectSlug: ID!) { project(projectSlug: $projectSlug) { changeSources { type "
         "... on CodeChangeSource { slug name repository { owner name provider url } deployTrackingType "
         "pathPrefix environmentMappings { environmentSlug branch } } } } }")


def _post(url, body, headers):
    import urllib.error
    import urllib.request
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _self_check():
    import http.client
    import urllib.error
    gql = SleuthGraphQL(keys={"k-acme": "acme", "k-globex": "globex"}, personal_keys={"k-me"})
    try:
        gql.projects["payments"] = [
            code_source("pay-web", envs={"production": "main", "staging": "release/"},
                        path_prefix={"includes": ["web/"], "excludes": ["web/docs/"]}),
            code_source("pay-gh", repo="acme/gh", provider="GITHUB"),
            flag_source(),
        ]
        url = gql.url + "/graphql"
        hdr = {"Content-Type": "application/json", "Authorization": "apikey k-acme"}
        body = {"query": QUERY, "variables": {"projectSlug": "payments"}}
        st, raw = _post(url, body, hdr)
        assert st == 200, (st, raw)
        srcs = json.loads(raw)["data"]["project"]["changeSources"]
        assert [s["type"] for s in srcs] == ["CODE", "CODE", "FLAG"], srcs
        assert srcs[2] == {"type": "FLAG"}, srcs[2]
        web = srcs[0]
        assert web["repository"] == {"owner": "acme", "name": "pay", "provider": "BITBUCKET",
                                     "url": "https://bitbucket.org/acme/pay"}, web
        assert web["environmentMappings"] == [{"environmentSlug": "production", "branch": "main"},
                                              {"environmentSlug": "staging", "branch": "release/"}], web
        assert json.loads(web["pathPrefix"]) == {"includes": ["web/"], "excludes": ["web/docs/"]}, web
        assert srcs[1]["pathPrefix"] == "" and srcs[1]["deployTrackingType"] == "MANUAL", srcs[1]
        # Only the fields asked for.
        st, raw = _post(url, {"query": QUERY.replace("pathPrefix ", ""), "variables": {"projectSlug": "payments"}},
                        hdr)
        assert st == 200 and "pathPrefix" not in json.loads(raw)["data"]["project"]["changeSources"][0], raw
        # Bad key, no key, a bearer key, a personal key.
        for auth, want in (("apikey nope", 401), (None, 401), ("Bearer k-acme", 401), ("apikey k-me", 403)):
            h = dict(hdr)
            if auth is None:
                del h["Authorization"]
            else:
                h["Authorization"] = auth
            st, raw = _post(url, body, h)
            assert st == want, (auth, st, raw)
        # Another organisation's key, an unknown project: GraphQL errors, 200.
        for key, slug in (("k-globex", "payments"), ("k-acme", "nosuch")):
            st, raw = _post(url, {"query": QUERY, "variables": {"projectSlug": slug}},
                            dict(hdr, Authorization="apikey " + key))
            js = json.loads(raw)
            assert st == 200 and js["data"] == {"project": None} and js["errors"][0]["message"], (key, slug, raw)
        # A broken query: 400 with a GraphQL error.
        for q in (QUERY.replace("environmentMappings", "envs"), QUERY.replace("project(", "projekt("),
                  QUERY.replace("changeSources", "sources")):
            st, raw = _post(url, {"query": q, "variables": {"projectSlug": "payments"}}, hdr)
            assert st == 400 and json.loads(raw)["errors"], (st, raw)
        st, raw = _post(url, {"query": QUERY}, hdr)
        assert st == 400, (st, raw)
        st, raw = _post(url, body, dict(hdr, **{"Content-Type": "text/plain"}))
        assert st == 400, (st, raw)
        # fail_next, then normal again.
        gql.fail_next(2, 502)
        assert _post(url, body, hdr)[0] == 502 and _post(url, body, hdr)[0] == 502
        assert _post(url, body, hdr)[0] == 200
        # 503 outage, then restore.
        gql.outage("503")
        assert _post(url, body, hdr)[0] == 503
        gql.restore()
        assert _post(url, body, hdr)[0] == 200
        # Refused connections, then the same port again.
        port = gql.port
        keep = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        keep.request("POST", "/graphql", body=json.dumps(body), headers=hdr)
        r = keep.getresponse()
        assert r.status == 200 and r.read()
        gql.outage("refuse")
        try:                       # a kept-alive connection is cut too
            keep.request("POST", "/graphql", body=json.dumps(body), headers=hdr)
            r = keep.getresponse()
            raise AssertionError("a kept-alive connection answered %d during a refuse outage" % r.status)
        except (OSError, http.client.HTTPException):
            pass
        keep.close()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            raise AssertionError("the port still accepts during a refuse outage")
        except ConnectionRefusedError:
            pass
        n = len(gql.requests)
        gql.restore()
        assert gql.port == port and _post(url, body, hdr)[0] == 200
        assert len(gql.requests) == n + 1
        # Hang: no answer until restore.
        gql.outage("hang")
        def hung():
            try:
                _post(url, body, hdr)
            except Exception:
                pass               # closed without an answer: what a hang ends with
        t = threading.Thread(target=hung, daemon=True)
        t.start()
        time.sleep(0.5)
        assert t.is_alive() and gql.requests[-1]["answered"] is None
        gql.restore()
        t.join(10)
        assert not t.is_alive()
        assert gql.count(project="payments") >= 8 and gql.count(status=401) == 3, gql.describe()
        print("sleuth_graphql self-check: ok (%d requests)" % len(gql.requests))
    except urllib.error.URLError as e:
        raise AssertionError(e)
    finally:
        gql.close()


if __name__ == "__main__":
    _self_check()
