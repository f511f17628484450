"""Redis topologies for the integration tests of issue 13, as real
processes: a Sentinel set (a master, its replicas and three
redis-sentinel processes), a Redis Cluster (masters, optionally one
replica each, made with redis-cli --cluster create), and a load generator
that posts signed Cloud repo:push deliveries to a running bitsleuth at a
steady rate and accounts for every one of them at the Sleuth stand-in.

Every process runs on 127.0.0.1 on a port the kernel said was free, in a
temp dir of its own, and is registered with harness.py's exit cleanup
(H._procs, H._dirs) and with dump_logs (H._live_redis), like RedisServer.

As a program, it starts one topology and keeps it up until SIGTERM or
SIGINT (for bench/topology.sh):

    python3 tests/integration/redis_topo.py up single|sentinel|cluster \
        [--replicas N] [--masters N] [--print-config]

With --print-config it prints the redis: lines of a bitsleuth config for
it (url:, sentinel: or cluster:, no prefix), then a line "# ready".

    python3 tests/integration/redis_topo.py selftest

checks the harness against redis alone (failovers, migrations).
Only the Python standard library is used.
"""
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

HOST = "127.0.0.1"


def _free_port(bus=False):
    """A port free right now; with bus, one whose cluster bus port
    (port + 10000) is free too."""
    for _ in range(200):
        p = H.free_port()
        if not bus:
            return p
        if p + 10000 > 65535:
            continue
        s = socket.socket()
        try:
            s.bind((HOST, p + 10000))
        except OSError:
            continue
        finally:
            s.close()
        return p
    H.fail("no free port (with a free cluster bus port)")


def try_cmd(port, *args, timeout=1.0):
    """One command on a fresh connection; None on any error (refused,
    closed, an error reply)."""
    try:
        c = H.Resp(port, timeout=timeout)
    except OSError:
        return None
    try:
        return c.cmd(*args)
    except Exception:
        return None
    finally:
        c.close()


def info(port, section=None, timeout=1.0):
    """INFO [section] as a dict (None when the node does not answer)."""
    raw = try_cmd(port, *(["INFO"] + ([section] if section else [])), timeout=timeout)
    if raw is None:
        return None
    out = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


class Node:
    """One redis-server or redis-sentinel process in a temp dir of its own
    (its log is <dir>/redis.log, so that dump_logs shows it)."""

    def __init__(self, args=(), sentinel_conf=None, bus=False, kind="redis-server", label="", port=None):
        self.dir = tempfile.mkdtemp(prefix="bs-topo-")
        H._dirs.append(self.dir)
        self.extra = list(args)
        self.sentinel_conf = sentinel_conf   # a function port -> config text
        self.bus = bus
        self.kind = kind
        self.label = label
        self.proc = None
        H._live_redis.append(self)
        if port:
            self.port = port     # a port chosen before (a sentinel already monitors it)
            self.start()
            return
        for attempt in range(5):
            self.port = _free_port(bus)
            if self.start(may_fail=attempt < 4):
                break

    def argv(self):
        log = os.path.join(self.dir, "redis.log")
        if self.sentinel_conf:
            conf = os.path.join(self.dir, "sentinel.conf")
            with open(conf, "w") as f:
                f.write(self.sentinel_conf(self.port, self.dir, log))
            return ["redis-sentinel", conf]
        return ["redis-server", "--port", str(self.port), "--bind", HOST, "--dir", self.dir,
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                # A replica's full sync at once, not after the default 5 s.
                "--repl-diskless-sync-delay", "0",
                "--logfile", log] + self.extra

    def ours(self):
        """The process answering on self.port is this one (not another
        test's): its config_file or dir is ours."""
        if self.sentinel_conf:
            i = info(self.port, "server")
            return bool(i) and os.path.realpath(i.get("config_file", "")).startswith(os.path.realpath(self.dir))
        return try_cmd(self.port, "CONFIG", "GET", "dir") == [b"dir", os.path.realpath(self.dir).encode()]

    def start(self, may_fail=False):
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        H._procs.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                return "exited"
            return "up" if self.ours() else None
        got = H.wait_for(up, 10, what="%s on port %d" % (self.kind, self.port))
        if got == "exited":
            self.proc.wait()
            if may_fail:
                return False
            H.fail("%s on port %d exited with %s" % (self.kind, self.port, self.proc.returncode))
        return True

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cmd(self, *args, timeout=5.0):
        c = H.Resp(self.port, timeout=timeout)
        try:
            return c.cmd(*args)
        finally:
            c.close()

    def kill(self):
        """SIGKILL, by PID."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        H.stop_process(self.proc)

    close = stop


def _role(port):
    r = try_cmd(port, "ROLE")
    return r[0].decode() if r else None


# ---------------------------------------------------------------- single

class Single:
    """One redis-server, for symmetry with the others (bench)."""

    def __init__(self, appendonly=False):
        self.node = H.RedisServer(appendonly=appendonly)
        self.port = self.node.port

    def redis_yaml(self):
        return ["  url: redis://%s:%d/0" % (HOST, self.port)]

    def stop(self):
        self.node.stop()


# ---------------------------------------------------------------- sentinel

MASTER_NAME = "mymaster"


class SentinelSet:
    """A master, `replicas` replicas (--replicaof) and `sentinels`
    redis-sentinel processes monitoring it as MASTER_NAME (quorum 2).
    monitor_port: the address the sentinels are told to monitor (default
    the master's); master_name: the name they monitor it as. wait: wait
    until every sentinel knows the master, every replica and every other
    sentinel."""

    def __init__(self, replicas=2, sentinels=3, down_after_ms=1000, failover_timeout_ms=3000,
                 master_name=MASTER_NAME, quorum=2, wait=True, start_data=True):
        self.name = master_name
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.quorum = quorum
        self.data = {}
        self.master = self.replicas = None
        if start_data:
            self.master = Node(label="master")
            self.data[self.master.port] = self.master
            self.replicas = [Node(["--replicaof", HOST, str(self.master.port)], label="replica")
                             for _ in range(replicas)]
            for r in self.replicas:
                self.data[r.port] = r
            H.wait_for(self._replicas_online, 20, what="replicas in sync with the master")
        self.initial_master_port = self.master.port if self.master else None
        self.sentinels = [Node(sentinel_conf=self._sentinel_conf, kind="redis-sentinel", label="sentinel")
                          for _ in range(sentinels)]
        if wait and start_data:
            self.wait_known()

    def _sentinel_conf(self, port, d, log):
        mport = self.initial_master_port or self._pending_master_port
        return "\n".join([
            "port %d" % port, "bind %s" % HOST, "daemonize no", "dir %s" % d, "logfile %s" % log,
            "sentinel resolve-hostnames no",
            "sentinel monitor %s %s %d %d" % (self.name, HOST, mport, self.quorum),
            "sentinel down-after-milliseconds %s %d" % (self.name, self.down_after_ms),
            "sentinel failover-timeout %s %d" % (self.name, self.failover_timeout_ms),
            "sentinel parallel-syncs %s 1" % self.name, ""])

    _pending_master_port = None

    @classmethod
    def without_master(cls, replicas=2, sentinels=3, **kw):
        """Sentinels monitoring a master port where nothing runs yet;
        start_master() then starts the master there (and its replicas)."""
        self = cls.__new__(cls)
        self._pending_master_port = _free_port()
        self.__init__(replicas=0, sentinels=sentinels, wait=False, start_data=False, **kw)
        self.n_replicas = replicas
        return self

    def start_master(self, wait_known=False):
        """(without_master) Starts the master on the port the sentinels
        monitor, then its replicas (in sync); wait_known: also until every
        sentinel knows the replicas (their INFO to a master that came back
        comes every 10 s, so that takes a while)."""
        port = self._pending_master_port
        self.master = Node(label="master", port=port)
        self.data[port] = self.master
        self.initial_master_port = port
        self.replicas = [Node(["--replicaof", HOST, str(port)], label="replica") for _ in range(self.n_replicas)]
        for r in self.replicas:
            self.data[r.port] = r
        H.wait_for(self._replicas_online, 20, what="replicas in sync with the master")
        if wait_known:
            self.wait_known()

    def _replicas_online(self):
        i = info(self.master.port, "replication")
        if not i:
            return False
        n = int(i.get("connected_slaves", 0))
        return n == len(self.replicas) and all("state=online" in i["slave%d" % k] for k in range(n))

    def addresses(self):
        return ["%s:%d" % (HOST, s.port) for s in self.sentinels]

    def redis_yaml(self, password_env=None):
        lines = ["  sentinel:", "    master: %s" % self.name,
                 "    addresses: [%s]" % ", ".join('"%s"' % a for a in self.addresses())]
        if password_env:
            lines.append("    password_env: %s" % password_env)
        return lines

    def _knows(self, s):
        mp = self.master_port(s)
        if mp is None:
            return False
        reps = try_cmd(s.port, "SENTINEL", "REPLICAS", self.name) or []
        sents = try_cmd(s.port, "SENTINEL", "SENTINELS", self.name) or []
        want_reps = {p for p in self.data if p != mp and self.data[p].alive()}
        rep_ports = set()
        for r in reps:
            d = dict(zip(r[::2], r[1::2]))
            if b"s_down" not in d.get(b"flags", b""):
                rep_ports.add(int(d[b"port"]))
        live_sentinels = sum(1 for x in self.sentinels if x.alive())
        return rep_ports >= want_reps and len(sents) == live_sentinels - 1

    def wait_known(self, timeout=30):
        """Every sentinel knows the master, each live replica and each
        other sentinel (hello messages come every 2 s; replicas from the
        master's INFO every 10 s)."""
        def ok():
            return all(self._knows(s) for s in self.sentinels if s.alive())

        def what():
            out = []
            for s in self.sentinels:
                reps = try_cmd(s.port, "SENTINEL", "REPLICAS", self.name) or []
                sents = try_cmd(s.port, "SENTINEL", "SENTINELS", self.name) or []
                out.append("sentinel %d: master %s, %d replicas, %d sentinels"
                           % (s.port, self.master_port(s), len(reps), len(sents)))
            return "every sentinel to know the master, replicas and each other (%s)" % "; ".join(out)
        H.wait_for(ok, timeout, interval=0.2, what=what)

    def master_port(self, sentinel=None):
        """The master's port as sentinel (default: the first live one that
        answers) reports it; None if none does."""
        for s in ([sentinel] if sentinel else self.sentinels):
            if not s.alive():
                continue
            r = try_cmd(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
            if r:
                return int(r[1])
        return None

    def master_node(self):
        return self.data.get(self.master_port())

    def kill_master(self):
        """SIGKILLs the current master (as the sentinels report it);
        returns its port."""
        port = self.master_port()
        self.data[port].kill()
        return port

    def wait_failover(self, old_port, timeout=30):
        """Waits until every live sentinel names a new master (not
        old_port) and that node says ROLE master; returns its port."""
        def done():
            ports = {self.master_port(s) for s in self.sentinels if s.alive()}
            if len(ports) != 1:
                return None
            p = ports.pop()
            if p is None or p == old_port or _role(p) != "master":
                return None
            return p
        return H.wait_for(done, timeout, interval=0.1,
                          what=lambda: "a failover away from port %d (sentinels say %s)"
                          % (old_port, [self.master_port(s) for s in self.sentinels]))

    def cmd(self, *args):
        """A command on the current master."""
        return self.data[self.master_port()].cmd(*args)

    def stop(self):
        for n in self.sentinels + list(self.data.values()):
            n.stop()

    close = stop


# ---------------------------------------------------------------- cluster

def crc16(data):
    """CRC16-XMODEM (poly 0x1021, init 0), the one Redis Cluster uses."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def keyslot(key):
    """The slot of a key, braces as Redis reads them; a bare tag (no
    braces) is hashed whole: keyslot("bstest") == keyslot("{bstest}:jobs")."""
    if isinstance(key, str):
        key = key.encode()
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) % 16384


class Cluster:
    """masters redis-server nodes in cluster mode (and replicas_per_master
    replicas each), made one cluster with redis-cli --cluster create."""

    def __init__(self, masters=3, replicas_per_master=0, node_timeout_ms=1000, extra_args=()):
        n = masters * (1 + replicas_per_master)
        self.node_timeout_ms = node_timeout_ms
        self.nodes = {}
        for _ in range(n):
            nd = Node(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                       "--cluster-node-timeout", str(node_timeout_ms),
                       # Replicas stay where they were put (no migration to orphaned masters).
                       "--cluster-allow-replica-migration", "no"] + list(extra_args), bus=True,
                      label="cluster")
            self.nodes[nd.port] = nd
        addrs = ["%s:%d" % (HOST, p) for p in self.nodes]
        out = subprocess.run(["redis-cli", "--cluster", "create"] + addrs +
                             ["--cluster-replicas", str(replicas_per_master), "--cluster-yes"],
                             capture_output=True, timeout=120)
        if out.returncode != 0:
            H.fail("redis-cli --cluster create failed (%d):\n%s%s"
                   % (out.returncode, out.stdout.decode()[-3000:], out.stderr.decode()[-2000:]))
        self.wait_ok(want_replicas=replicas_per_master)
        # The masters' ids, as created.
        self.ids = {p: try_cmd(p, "CLUSTER", "MYID").decode() for p in self.nodes}

    # -- views
    def live(self):
        return [p for p, nd in self.nodes.items() if nd.alive()]

    def view(self, port=None):
        """CLUSTER NODES of port (default: any live node) as a list of
        dicts: id, port, flags (set), master (id or None), slots (list of
        (lo, hi)), connected."""
        for p in ([port] if port else self.live()):
            raw = try_cmd(p, "CLUSTER", "NODES")
            if raw is None:
                continue
            out = []
            for line in raw.decode().splitlines():
                f = line.split()
                if len(f) < 8:
                    continue
                addr = f[1].split("@")[0]
                slots = []
                for s in f[8:]:
                    if s.startswith("["):
                        continue     # a migration in progress
                    lo, _, hi = s.partition("-")
                    slots.append((int(lo), int(hi or lo)))
                out.append({"id": f[0], "port": int(addr.rsplit(":", 1)[1]), "flags": set(f[2].split(",")),
                            "master": None if f[3] == "-" else f[3], "slots": slots,
                            "connected": f[7] == "connected"})
            return out
        return []

    def masters(self):
        """Ports of the live masters (that own slots), as a live node sees it."""
        return sorted(n["port"] for n in self.view()
                      if "master" in n["flags"] and "fail" not in n["flags"] and n["slots"]
                      and self.nodes.get(n["port"]) and self.nodes[n["port"]].alive())

    def replicas_of(self, master_port):
        mid = self.node_id(master_port)
        return [n["port"] for n in self.view() if n["master"] == mid and "fail" not in n["flags"]]

    def node_id(self, port):
        return try_cmd(port, "CLUSTER", "MYID").decode()

    def owner_of_slot(self, slot, port=None):
        """The port of the master that owns slot, as node `port` (default:
        any live node) sees it."""
        for n in self.view(port):
            if "master" in n["flags"] and any(lo <= slot <= hi for lo, hi in n["slots"]):
                return n["port"]
        return None

    def keyslot(self, tag):
        """keyslot(tag), cross-checked with CLUSTER KEYSLOT."""
        mine = keyslot(tag)
        key = tag if "{" in tag else "{%s}" % tag
        theirs = try_cmd(self.live()[0], "CLUSTER", "KEYSLOT", key)
        assert theirs == mine, "CRC16 slot of %r: mine %s, redis' %s" % (tag, mine, theirs)
        return mine

    def wait_ok(self, timeout=30, want_replicas=None):
        """cluster_state:ok on every live node, every node agreeing on who
        owns every slot, and (want_replicas) every master with that many
        replicas."""
        def ok():
            owners = None
            for p in self.live():
                i = info_cluster(p)
                if not i or i.get("cluster_state") != "ok":
                    return False
                v = self.view(p)
                o = sorted((lo, hi, n["port"]) for n in v if "master" in n["flags"] for lo, hi in n["slots"])
                if owners is None:
                    owners = o
                elif o != owners:
                    return False
                me = [n for n in v if n["port"] == p]
                if me and "slave" in me[0]["flags"]:
                    r = info(p, "replication") or {}
                    if r.get("master_link_status") != "up":
                        return False
                if want_replicas is not None:
                    ms = [n["id"] for n in v if "master" in n["flags"] and n["slots"]]
                    for m in ms:
                        if sum(1 for n in v if n["master"] == m) != want_replicas:
                            return False
            return True
        H.wait_for(ok, timeout, interval=0.1,
                   what=lambda: "cluster_state:ok and one slot map on every node (%s)"
                   % {p: (info_cluster(p) or {}).get("cluster_state") for p in self.live()})

    def redis_yaml(self):
        return ["  cluster: [%s]" % ", ".join('"%s:%d"' % (HOST, p) for p in sorted(self.nodes))]

    # -- changes
    def migrate_slot(self, slot, to_port, pause_between_keys_s=0.0, batch=10, on_progress=None):
        """Moves slot to master to_port by hand: IMPORTING on the target,
        MIGRATING on the source, MIGRATE of its keys (batch at a time, one
        at a time with a pause), then SETSLOT NODE on the target, the
        source and every master. Returns the number of keys moved."""
        src = self.owner_of_slot(slot)
        if src == to_port:
            return 0
        src_id, dst_id = self.node_id(src), self.node_id(to_port)
        nd_dst, nd_src = self.nodes[to_port], self.nodes[src]
        assert nd_dst.cmd("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id) == "OK"
        assert nd_src.cmd("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id) == "OK"
        n = 0
        if pause_between_keys_s:
            batch = 1
        while True:
            keys = nd_src.cmd("CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not keys:
                break
            r = nd_src.cmd("MIGRATE", HOST, to_port, "", 0, 5000, "KEYS", *keys, timeout=10)
            assert r in ("OK", "NOKEY"), r
            n += len(keys)
            if on_progress:
                on_progress(n)
            if pause_between_keys_s:
                time.sleep(pause_between_keys_s)
        assert nd_dst.cmd("CLUSTER", "SETSLOT", slot, "NODE", dst_id) == "OK"
        assert nd_src.cmd("CLUSTER", "SETSLOT", slot, "NODE", dst_id) == "OK"
        for p in self.masters():
            if p not in (src, to_port):
                try_cmd(p, "CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        H.wait_for(lambda: all(self.owner_of_slot(slot, p) == to_port for p in self.live()), 15,
                   what="every node to see slot %d at port %d" % (slot, to_port))
        return n

    def kill_master(self, port):
        """SIGKILL, by PID."""
        self.nodes[port].kill()

    def failover(self, replica_port, takeover=True, timeout=30):
        """The replica becomes master: CLUSTER FAILOVER TAKEOVER on it
        (takeover), or the automatic failover after its master died and
        the node timeout passed. Waits until it is master, owns slots and
        the cluster is ok on every live node."""
        if takeover:
            assert self.nodes[replica_port].cmd("CLUSTER", "FAILOVER", "TAKEOVER") == "OK"

        def done():
            me = [n for n in self.view(replica_port) if n["port"] == replica_port]
            return bool(me) and "master" in me[0]["flags"] and me[0]["slots"]
        H.wait_for(done, timeout, interval=0.1, what="port %d to become a master" % replica_port)
        self.wait_ok(timeout)

    def keys_per_master(self):
        return {p: try_cmd(p, "DBSIZE") for p in self.masters()}

    # Commands of the harness, replication and connection upkeep: not counted
    # as a node's work.
    ADMIN_COMMANDS = {"info", "cluster", "dbsize", "keys", "config", "role", "ping", "replconf", "psync",
                      "sync", "command", "migrate", "restore-asking", "client", "hello", "select", "auth"}

    def commands_snapshot(self):
        """{port: calls} of every live node: INFO commandstats' calls, less
        ADMIN_COMMANDS (this harness' own and connection upkeep)."""
        out = {}
        for p in self.live():
            n = 0
            for k, v in (info(p, "commandstats") or {}).items():
                name = k[len("cmdstat_"):].split("|")[0]
                if k.startswith("cmdstat_") and name not in self.ADMIN_COMMANDS:
                    n += int(dict(x.split("=", 1) for x in v.split(","))["calls"])
            out[p] = n
        return out

    def commands_per_master(self, since=None):
        now = self.commands_snapshot()
        return {p: now.get(p, 0) - (since or {}).get(p, 0) for p in self.masters()}

    def client_for(self, tag):
        """A cmd() for keys of hash tag `tag`, sent to the slot's owner."""
        return TagClient(self, tag)

    def stop(self):
        for nd in self.nodes.values():
            nd.stop()

    close = stop


def info_cluster(port):
    raw = try_cmd(port, "CLUSTER", "INFO")
    if raw is None:
        return None
    return dict(line.split(":", 1) for line in raw.decode().splitlines() if ":" in line)


class TagClient:
    """cmd() on the master owning a hash tag's slot, following MOVED."""

    def __init__(self, cluster, tag):
        self.cluster, self.slot = cluster, keyslot(tag)

    def cmd(self, *args):
        last = None
        for _ in range(5):
            port = self.cluster.owner_of_slot(self.slot)
            try:
                return self.cluster.nodes[port].cmd(*args)
            except RuntimeError as e:
                last = e
                if not str(e).startswith(("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")):
                    raise
                time.sleep(0.2)
        raise last


class SentinelClient:
    """cmd() on the master the sentinels name now."""

    def __init__(self, sset):
        self.sset = sset

    def cmd(self, *args):
        return self.sset.cmd(*args)


# ---------------------------------------------------------------- config, metrics

def topo_config(redis_lines, sleuth_url, deployments, prefix="bstest", wait_replicas=None,
                wait_timeout_ms=None, shards=None, extra=""):
    """make_config's config with its url: line replaced by redis_lines
    (SentinelSet/Cluster.redis_yaml()), plus wait_replicas,
    wait_timeout_ms and queue.shards when given."""
    text = H.make_config(1, sleuth_url, deployments, prefix=prefix, extra=extra)
    lines = list(redis_lines)
    if wait_replicas is not None:
        lines.append("  wait_replicas: %d" % wait_replicas)
    if wait_timeout_ms is not None:
        lines.append("  wait_timeout_ms: %d" % wait_timeout_ms)
    url = "  url: redis://127.0.0.1:1/0"
    assert url in text
    text = text.replace(url, "\n".join(lines))
    if shards is not None:
        assert "\nqueue:" not in text, "queue: already in extra; put shards there"
        text = text.replace("\ndeployments:", "\nqueue:\n  shards: %d\ndeployments:" % shards)
    return text


def survival_problems(bs, summary):
    """What every failover test checks first, as a list of what failed:
    bitsleuth still runs and no post met a connection error."""
    problems = []
    if bs.proc.poll() is not None:
        problems.append("bitsleuth exited (%s)" % bs.proc.returncode)
    errs = {k: v for k, v in summary["statuses"].items() if k.startswith("conn-error")}
    if errs:
        problems.append(("connection errors from bitsleuth", summary["statuses"]))
    return problems


def acked(load, since=None):
    """How many of load's posts got 202 (those sent at or after since)."""
    return sum(1 for r in load.snapshot() if r["status"] == 202 and (since is None or r["sent"] >= since))


def stats(bs):
    """`bitsleuth stats --json` of bs's config, parsed."""
    out = subprocess.run([H.BIN, "stats", "--json", "-c", bs.config], env=bs.env, capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def metrics(bs):
    """GET /metrics as {series: value}, keyed by the full series text, e.g.
    'bitsleuth_redis_redirects_total{kind="moved"}' (harness.parse_metrics;
    harness.series builds the keys)."""
    return H.metrics(bs)


def metric(bs, name, default=0.0, **labels):
    """One series' value: metric(bs, "bitsleuth_redis_redirects_total", kind="ask")."""
    return metrics(bs).get(H.series(name, **labels), default)


def redis_counters(m):
    """The Redis topology counters of a metrics() dict, by short name."""
    return {
        "moved": m.get(H.series("bitsleuth_redis_redirects_total", kind="moved"), 0),
        "ask": m.get(H.series("bitsleuth_redis_redirects_total", kind="ask"), 0),
        "tryagain": m.get("bitsleuth_redis_tryagain_total", 0),
        "failovers": m.get("bitsleuth_redis_failovers_total", 0),
        "wait_timeouts": m.get("bitsleuth_redis_wait_timeouts_total", 0),
    }


def shard_tags(prefix, shards):
    return [prefix] if shards == 1 else ["%s:%d" % (prefix, i) for i in range(shards)]


def settled_all(client_for_tag, tags):
    """harness.settled for every shard tag (client_for_tag(tag) -> cmd());
    a shard whose jobs stream was never made (no job hashed there) counts
    as settled when its retry set and lanes are empty too. False while
    any node does not answer."""
    for t in tags:
        r = client_for_tag(t)
        try:
            if r.cmd("EXISTS", "{%s}:jobs" % t) == 0:
                if (r.cmd("ZCARD", "{%s}:retry" % t) or r.cmd("ZCARD", "{%s}:lanes" % t)
                        or r.cmd("KEYS", "{%s}:lanep:*" % t)):
                    return False
                continue
            if not H.settled(r, prefix=t):
                return False
        except Exception:
            return False
    return True


# ---------------------------------------------------------------- load

PUSH_FIXTURE = "drone-go-scm/cloud_repo-push_branch.json"
_BASE = None


def push_body(sha, repo=None):
    """The Cloud repo:push fixture (brydzewski/foo, master) with sha as
    its new head and its one commit; repo "owner/slug" rewrites the
    repository's full name, name and links."""
    global _BASE
    if _BASE is None:
        _BASE = json.loads(H.read_fixture(PUSH_FIXTURE))
    p = json.loads(json.dumps(_BASE))
    ch = p["push"]["changes"][0]
    ch["new"]["target"]["hash"] = sha
    for c in ch.get("commits") or []:
        c["hash"] = sha
    if repo:
        r = p["repository"]
        old = r["full_name"]
        r["full_name"] = repo
        r["name"] = repo.split("/", 1)[1]
        r["uuid"] = "{%s}" % (("%032x" % (hash(repo) & (2 ** 128 - 1)))[:32])
        p = json.loads(json.dumps(p).replace("repositories/" + old, "repositories/" + repo)
                       .replace("bitbucket.org/" + old, "bitbucket.org/" + repo))
    return json.dumps(p).encode()


FOO_MASTER = {"org": "acme", "deployment": "foo-web", "repository": "brydzewski/foo", "branch": "master"}


class Load:
    """Posts signed repo:push deliveries to bs at `rate` per second (a
    ticker thread hands each to a small pool, so that one slow answer does
    not slow the rate), each with a unique delivery id and a unique head
    sha; repos (a list of "owner/slug") are used round robin. Records per
    delivery: index, sha, repo, sent time, HTTP status (or "conn-error:
    ..."), answer time."""

    _run = 0

    def __init__(self, bs, sleuth, rate=20.0, repos=None, workers=16, timeout=10):
        Load._run += 1
        self.bs, self.sleuth, self.rate = bs, sleuth, rate
        self.repos = repos
        self.tag = "%06x%04x" % (int(time.time()) & 0xFFFFFF, (os.getpid() * 16 + Load._run) & 0xFFFF)
        self.records = []
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self.timeout = timeout
        self.kill_at = None
        self.thread = None

    def sha(self, i):
        return "%s%030x" % (self.tag, i)     # 10 + 30 = 40 hex

    def _one(self, rec):
        try:
            st, _, _, _ = self.bs.post("repo:push", push_body(rec["sha"], rec["repo"]),
                                       delivery="{load-%s-%d}" % (self.tag, rec["i"]))
            rec["status"] = st
        except Exception as e:     # refused, reset, timed out: bitsleuth died or hung
            rec["status"] = "conn-error: %s" % type(e).__name__
        rec["answered"] = time.time()

    def _loop(self):
        i, t0 = 0, time.time()
        while not self.stop_ev.is_set():
            due = t0 + i / self.rate
            now = time.time()
            if due > now:
                if self.stop_ev.wait(due - now):
                    break
            repo = self.repos[i % len(self.repos)] if self.repos else None
            rec = {"i": i, "sha": self.sha(i), "repo": repo, "sent": time.time(), "status": None}
            with self.lock:
                self.records.append(rec)
            self.pool.submit(self._one, rec)
            i += 1

    def start(self):
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def mark_kill(self):
        self.kill_at = time.time()

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
        self.pool.shutdown(wait=True)

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def await_resume(self, rate):
        """After a kill: waits for the first 202 after the outage (or, when
        there was no outage, 5 s of load), then for 3 s' worth of 202s at
        rate per second. Returns when the second wait began."""
        t_fo = time.time()
        H.wait_for(lambda: self.first_202_after_outage() or
                   (not self.had_outage() and time.time() - t_fo > 5), 40,
                   what=lambda: "202s to resume after the kill (%s)" % self.summary()["statuses"])
        t_res = time.time()
        H.wait_for(lambda: acked(self, t_res) >= 3 * rate, 30,
                   what=lambda: "3 s of 202s after the resume (%s)" % self.summary()["statuses"])
        return t_res

    def first_202_after_outage(self):
        """Time of the first 202 answered after the first non-202 that
        followed mark_kill() (by send order); None while there is none."""
        if self.kill_at is None:
            return None
        recs = sorted((r for r in self.snapshot() if r["sent"] >= self.kill_at and r["status"] is not None),
                      key=lambda r: r["sent"])
        bad = None
        for r in recs:
            if r["status"] != 202 and bad is None:
                bad = r
            elif bad is not None and r["status"] == 202:
                return r["answered"]
        return None

    def had_outage(self):
        return any(r["status"] != 202 for r in self.snapshot()
                   if self.kill_at and r["sent"] >= self.kill_at and r["status"] is not None)

    def windows(self, t0=None):
        """{status: (count, first sent, last sent)} of every answer but
        202, times in seconds after t0 (default: the first send)."""
        recs = self.snapshot()
        if not recs:
            return {}
        t0 = recs[0]["sent"] if t0 is None else t0
        out = {}
        for r in recs:
            if r["status"] == 202:
                continue
            k = str(r["status"])
            n, a, b = out.get(k, (0, None, None))
            t = round(r["sent"] - t0, 2)
            out[k] = (n + 1, t if a is None else a, t)
        return out

    def registrations(self):
        """sha -> number of register_deploy requests Sleuth answered 200."""
        out = {}
        with self.sleuth.lock:
            for r in self.sleuth.requests:
                if r.get("answered") == 200:
                    s = (r["json"] or {}).get("sha")
                    out[s] = out.get(s, 0) + 1
        return out

    def all_acked_registered(self):
        regs = self.registrations()
        return all(r["sha"] in regs for r in self.snapshot() if r["status"] == 202)

    def settle(self, timeout=30, quiet_s=2.0, extra=None):
        """Waits until every acknowledged push is registered (and extra()
        is true), or until no new registration came for quiet_s after
        extra() held (then some are lost); at most timeout."""
        deadline = time.time() + timeout
        last_n, last_change = -1, time.time()
        while time.time() < deadline:
            n = sum(self.registrations().values())
            if n != last_n:
                last_n, last_change = n, time.time()
            ext = extra() if extra else True
            if ext and self.all_acked_registered():
                return True
            if ext and time.time() - last_change > quiet_s:
                return False
            time.sleep(0.1)
        return False

    def summary(self):
        recs = self.snapshot()
        regs = self.registrations()
        statuses = {}
        for r in recs:
            statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
        acked = [r for r in recs if r["status"] == 202]
        registered = [r for r in acked if r["sha"] in regs]
        lost = [r for r in acked if r["sha"] not in regs]
        dup = [r for r in recs if regs.get(r["sha"], 0) > 1]
        unacked_reg = [r for r in recs if r["status"] != 202 and r["sha"] in regs]
        resume = self.first_202_after_outage()
        s = {"sent": len(recs), "acked": len(acked), "registered": len(registered), "lost": len(lost),
             "duplicated": len(dup), "unacked_registered": len(unacked_reg), "statuses": statuses,
             "resume_s": None if resume is None else round(resume - self.kill_at, 2)
             if self.had_outage() else 0.0,
             "lost_shas": [r["sha"] for r in lost][:10]}
        return s

    @staticmethod
    def line(label, s):
        return ("LOAD %s: sent=%d acked=%d registered=%d lost=%d duplicated=%d unacked_registered=%d "
                "resume_s=%s statuses=%s" % (label, s["sent"], s["acked"], s["registered"], s["lost"],
                                             s["duplicated"], s["unacked_registered"], s["resume_s"],
                                             json.dumps(s["statuses"], sort_keys=True)))


# ---------------------------------------------------------------- selftest

def selftest():
    """The harness against redis alone (no bitsleuth): a Sentinel
    failover, sentinels without a master until it starts, a Cluster's slot
    keyed by CRC16 as Redis keys it, a slot migrated at once and key by
    key with a stream and its group intact, a TAKEOVER and an automatic
    failover after a kill."""
    t0 = time.time()
    s = SentinelSet()
    print("sentinel set up in %.1fs: master %d, sentinels %s" % (time.time() - t0, s.master_port(), s.addresses()))
    s.cmd("SET", "k", "v")
    old = s.kill_master()
    t1 = time.time()
    new = s.wait_failover(old)
    assert s.data[new].cmd("GET", "k") == b"v"
    print("sentinel failover %d -> %d in %.1fs" % (old, new, time.time() - t1))
    s.wait_known()
    s.stop()
    w = SentinelSet.without_master(replicas=1)
    assert _role(w._pending_master_port) is None
    w.start_master()
    assert _role(w.master_port()) == "master"
    print("sentinels without a master, then master %d started" % w.master_port())
    w.stop()

    t0 = time.time()
    c = Cluster(3, 1)
    print("cluster up in %.1fs: masters %s" % (time.time() - t0, c.masters()))
    owners = set()
    for tag in ["bstest", "bstest:0", "bstest:1", "bstest:2"]:
        sl = c.keyslot(tag)
        print("  slot of %s: %d at %d" % (tag, sl, c.owner_of_slot(sl)))
        if tag != "bstest":
            owners.add(c.owner_of_slot(sl))
    print("  bstest:0..2 on %d different masters" % len(owners))
    sl = c.keyslot("bstest")
    tc = c.client_for("bstest")
    tc.cmd("XADD", "{bstest}:jobs", "*", "a", "1")
    tc.cmd("XGROUP", "CREATE", "{bstest}:jobs", "workers", "0")
    for i in range(20):
        tc.cmd("SET", "{bstest}:k%d" % i, i)
    for pause in (0.0, 0.02):
        src = c.owner_of_slot(sl)
        dst = [m for m in c.masters() if m != src][0]
        n = c.migrate_slot(sl, dst, pause_between_keys_s=pause)
        assert n == 21 and c.owner_of_slot(sl) == dst, (n, c.owner_of_slot(sl), dst)
        assert tc.cmd("XINFO", "GROUPS", "{bstest}:jobs")[0][1] == b"workers"
        print("  slot %d migrated %d -> %d (pause %.2f): keys per master %s" % (sl, src, dst, pause, c.keys_per_master()))
    rep = c.replicas_of(dst)[0]
    c.failover(rep)
    assert c.owner_of_slot(sl) == rep and tc.cmd("DBSIZE") == 21
    print("  TAKEOVER: %d owns slot %d" % (rep, sl))
    m = [p for p in c.masters() if c.replicas_of(p)][0]
    r = c.replicas_of(m)[0]
    t2 = time.time()
    c.kill_master(m)
    c.failover(r, takeover=False)
    print("  automatic failover %d -> %d in %.1fs" % (m, r, time.time() - t2))
    c.stop()
    print("selftest ok")


# ---------------------------------------------------------------- main

def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="redis_topo.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a topology and keep it up until SIGTERM")
    up.add_argument("topology", choices=["single", "sentinel", "cluster"])
    up.add_argument("--replicas", type=int, default=None,
                    help="sentinel: replicas (default 2); cluster: per master (default 0)")
    up.add_argument("--masters", type=int, default=3, help="cluster: masters (default 3)")
    up.add_argument("--appendonly", action="store_true", help="single: AOF with appendfsync always")
    up.add_argument("--print-config", action="store_true")
    sub.add_parser("selftest", help="check the harness against redis alone")
    a = ap.parse_args(argv)
    if a.cmd == "selftest":
        try:
            selftest()
        finally:
            H._cleanup()
        return

    def bye(*_):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    if a.topology == "single":
        t = Single(appendonly=a.appendonly)
    elif a.topology == "sentinel":
        t = SentinelSet(replicas=2 if a.replicas is None else a.replicas)
    else:
        t = Cluster(masters=a.masters, replicas_per_master=a.replicas or 0)
    if a.print_config:
        print("\n".join(t.redis_yaml()))
    print("# ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        t.stop()
        H._cleanup()


if __name__ == "__main__":
    main(sys.argv[1:])
