"""Keeps the container files honest without a Docker engine.

No Docker engine runs on the development or CI machines, so the image is
never built here. What can be checked is checked against the real binary
and the real files:

- every shared library the built `bitsleuth` loads comes from a Debian
  package that the Dockerfile's runtime stage installs (or from the base
  image), so the image starts;
- the Dockerfile's build stage installs every -dev package that
  scripts/deps.sh installs for a build, so the image builds like ./run.sh;
- the config the image and docker-compose.yml use passes `bitsleuth check`;
- docker-compose.yml is valid (Debian's `docker-compose config`, when the
  package is installed) and mounts, exposes and signals what the README and
  the config say;
- its `ha` profile (Redis Sentinel: one master, two replicas, three
  sentinels, and bitsleuth-ha on examples/compose-ha.yaml) is valid too,
  leaves the default services alone, and its config passes `bitsleuth check`.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

DOCKERFILE = os.path.join(H.SOURCE_DIR, "Dockerfile")
COMPOSE = os.path.join(H.SOURCE_DIR, "docker-compose.yml")
DEPS = os.path.join(H.SOURCE_DIR, "scripts", "deps.sh")
# Packages every debian:bookworm-slim image already has.
BASE_IMAGE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5",
              "libgcrypt20", "libgpg-error0", "libcrypt1", "libselinux1",
              "libpcre2-8-0", "libssl3", "libacl1", "libattr1", "libbz2-1.0"}


def stages():
    """The Dockerfile's stages as lists of the packages each apt-get installs."""
    text = open(DOCKERFILE).read().replace("\\\n", " ")
    out = []
    for stage in re.split(r"(?m)^FROM ", text)[1:]:
        pkgs = []
        for m in re.finditer(r"apt-get install ([^&\n]*)", stage):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
        out.append(pkgs)
    return out


def package_of(path):
    p = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if p.returncode != 0:
        real = os.path.realpath(path)
        p = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
    assert p.returncode == 0, "no Debian package owns %s: %s" % (path, p.stderr)
    return p.stdout.split(":")[0].strip()


def test_runtime_stage_has_every_library_the_binary_loads():
    runtime = set(stages()[-1])
    # The libraries the binary names itself (DT_NEEDED); apt brings what
    # those depend on.
    dyn = subprocess.run(["readelf", "-d", H.BIN], capture_output=True, text=True, check=True).stdout
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", dyn))
    out = subprocess.run(["ldd", H.BIN], capture_output=True, text=True, check=True).stdout
    libs = [path for name, path in re.findall(r"(\S+) => (/\S+)", out) if name in needed]
    assert len(libs) >= 8, out  # libevent, hiredis, curl, msgpack, pcre2, crypto, yajl, yaml
    missing = []
    for lib in libs:
        pkg = package_of(lib)
        if pkg not in runtime and pkg not in BASE_IMAGE:
            missing.append("%s (%s)" % (pkg, os.path.basename(lib)))
    assert not missing, "Dockerfile runtime stage lacks: " + ", ".join(missing)


def test_build_stage_installs_what_deps_sh_installs():
    build = set(stages()[0])
    text = open(DEPS).read()
    want = re.search(r"want=\(([^)]*)\)", text, re.S).group(1).split()
    dev = [p for p in want if p.endswith("-dev") or p in ("cmake", "pkg-config", "build-essential")]
    missing = [p for p in dev if p not in build]
    assert not missing, "Dockerfile build stage lacks: " + ", ".join(missing)


def test_build_stage_copies_every_source_folder():
    """The image builds what the tree holds: every folder the layout lint
    knows (and CMake globs) is copied into the build stage."""
    sys.path.insert(0, os.path.join(H.SOURCE_DIR, "tests", "lint"))
    import layout  # noqa: E402
    text = open(DOCKERFILE).read()
    copied = set(re.findall(r"(?m)^COPY (\S+) \1$", text))
    missing = [f for f in layout.FOLDERS if f not in copied]
    assert not missing, "Dockerfile's build stage does not COPY %s" % missing
    with open(os.path.join(H.SOURCE_DIR, "CMakeLists.txt")) as f:
        cmake = f.read()
    for folder in layout.FOLDERS:
        assert re.search(r"\b%s/\*\.c|bs_folder_lib\(%s\b" % (folder, folder), cmake), folder


def test_image_config_passes_check():
    text = open(DOCKERFILE).read()
    m = re.search(r"COPY (examples/\S+) /etc/bitsleuth/bitsleuth.yaml", text)
    assert m, "the Dockerfile copies no config"
    compose = open(COMPOSE).read()
    mc = re.search(r"\$\{BITSLEUTH_CONFIG_FILE:-\./(\S+?)\}:/etc/bitsleuth/bitsleuth.yaml:ro", compose)
    assert mc, "docker-compose.yml mounts no config read-only"
    for cfg in {m.group(1), mc.group(1)}:
        env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET="x", SLEUTH_API_TOKEN="y")
        p = subprocess.run([H.BIN, "check", "-c", os.path.join(H.SOURCE_DIR, cfg)],
                           capture_output=True, text=True, env=env, timeout=30)
        assert p.returncode == 0, (cfg, p.stdout, p.stderr)
        listen = re.search(r"(?m)^listen:\s*(\S+)", open(os.path.join(H.SOURCE_DIR, cfg)).read())
        assert listen and listen.group(1) == "0.0.0.0:8080", "a container must listen on 0.0.0.0:8080"


def test_compose_file_is_valid_and_consistent():
    text = open(COMPOSE).read()
    assert re.search(r'--appendonly", "yes"', text), "Redis in compose must have AOF on"
    # 202 means on disk: fsync before Redis answers the enqueue.
    assert re.search(r'--appendfsync", "always"', text), "compose Redis must fsync every write"
    # Loopback only by default: /metrics shares the port (README "Security").
    assert '"127.0.0.1:8080:8080"' in text
    assert "stop_signal: SIGTERM" in text
    assert "BITBUCKET_WEBHOOK_SECRET: ${BITBUCKET_WEBHOOK_SECRET:?" in text
    df = open(DOCKERFILE).read()
    assert re.search(r"(?m)^USER (?!root)\S+", df), "the image must run as a non-root user"
    assert "FROM debian:bookworm-slim AS build" in df
    # The Compose Specification has no version key (compose warns it is obsolete).
    assert not re.search(r"(?m)^version:", text), "drop the obsolete top-level version: key"
    H.need("docker-compose", "docker-compose")
    env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET="x")
    p = subprocess.run(["docker-compose", "-f", COMPOSE, "config", "-q"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    # Without the secret, compose itself must refuse to start.
    env.pop("BITBUCKET_WEBHOOK_SECRET")
    p = subprocess.run(["docker-compose", "-f", COMPOSE, "config", "-q"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode != 0 and "webhook secret" in p.stderr, p.stderr


def compose_services(rendered):
    """{name: its block of text} of the services in `docker-compose config`
    output (normalised: two-space indents, one key per line)."""
    m = re.search(r"(?ms)^services:\n(.*?)(?=^\S)", rendered + "\nend:\n")
    assert m, rendered
    out = {}
    for part in re.split(r"(?m)^  (?=\S)", m.group(1))[1:]:
        name, _, body = part.partition(":\n")
        out[name.strip()] = body
    return out


def in_ha(body):
    return re.search(r"(?m)^    profiles:\n    - ha$", body) is not None


def test_compose_ha_profile():
    text = open(COMPOSE).read()
    ha_config = re.search(r"\$\{BITSLEUTH_HA_CONFIG_FILE:-\./(\S+?)\}:/etc/bitsleuth/bitsleuth.yaml:ro", text)
    assert ha_config, "bitsleuth-ha mounts no config read-only"
    assert ha_config.group(1) == "examples/compose-ha.yaml", ha_config.group(1)
    path = os.path.join(H.SOURCE_DIR, ha_config.group(1))
    cfg = open(path).read()
    assert re.search(r"(?m)^  sentinel:$", cfg) and re.search(r"(?m)^  wait_replicas: 1$", cfg), cfg
    assert re.search(r"(?m)^listen:\s*0\.0\.0\.0:8080$", cfg), "a container must listen on 0.0.0.0:8080"
    env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET="x", SLEUTH_API_TOKEN="y")
    p = subprocess.run([H.BIN, "check", "-c", path], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "warning" not in p.stderr, p.stderr
    assert re.search(r"(?m)^redis: +sentinel master mymaster via 3 sentinels, db 0", p.stdout), p.stdout
    assert "acknowledged writes wait for 1 replica (1000 ms)" in p.stdout, p.stdout
    H.need("docker-compose", "docker-compose")
    for args in ([], ["--profile", "ha"]):
        p = subprocess.run(["docker-compose", "-f", COMPOSE] + args + ["config", "-q"],
                           capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0, (args, p.stderr)
    p = subprocess.run(["docker-compose", "-f", COMPOSE, "--profile", "ha", "config"],
                       capture_output=True, text=True, env=env, timeout=60, check=True)
    services = compose_services(p.stdout)
    ha = {n: b for n, b in services.items() if in_ha(b)}
    # `docker-compose up` without the profile starts what it always did.
    assert sorted(n for n, b in services.items() if not re.search(r"(?m)^    profiles:", b)) == \
        ["prometheus", "redis", "serve", "work"], sorted(services)   # test_compose.py: the rest
    sentinels = [n for n, b in ha.items() if "redis-sentinel" in b and "sentinel monitor" in b]
    replicas = [n for n, b in ha.items() if "--replicaof" in b]
    masters = [n for n, b in ha.items() if "redis-server" in b and "--replicaof" not in b]
    assert len(masters) == 1 and len(replicas) == 2 and len(sentinels) == 3, (masters, replicas, sentinels)
    master = masters[0]
    for n in replicas:
        assert re.search(r"- --replicaof\n\s+- %s\n\s+- ['\"]?6379['\"]?\n" % re.escape(master), ha[n]), ha[n]
    for n in masters + replicas:
        assert re.search(r"- --appendonly\n\s+- ['\"]?yes['\"]?\n\s+- --appendfsync\n\s+- always", ha[n]), ha[n]
    for n in sentinels:
        flat = re.sub(r"\s+", " ", ha[n])
        assert "sentinel monitor mymaster %s 6379 2" % master in flat, flat
        assert "sentinel down-after-milliseconds mymaster 5000" in flat, flat
    # bitsleuth-ha: the HA config, the secret required, its own host port.
    bha = [n for n, b in ha.items() if "/etc/bitsleuth/bitsleuth.yaml" in b]
    assert bha == ["bitsleuth-ha"], bha
    assert "compose-ha.yaml" in ha["bitsleuth-ha"]
    assert "127.0.0.1:8081:8080" in ha["bitsleuth-ha"], ha["bitsleuth-ha"]
    # The sentinels' addresses in the config are the compose services.
    for n in sentinels:
        assert "%s:26379" % n in cfg, n
    # Without the secret, compose refuses the profile too.
    env.pop("BITBUCKET_WEBHOOK_SECRET")
    p = subprocess.run(["docker-compose", "-f", COMPOSE, "--profile", "ha", "config", "-q"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode != 0 and "webhook secret" in p.stderr, p.stderr


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
