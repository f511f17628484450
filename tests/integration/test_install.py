"""`cmake --install` places a working binary and the example configs: the
installed bitsleuth, on the installed example config, takes a real signed
push and records its dry-run deploy in a real Redis. It also places the
man page (written from the --help table: renders under `groff -ww`
without a warning and has every command of the table), the bash
completion (loaded into a real bash, it completes commands, dlq's
subcommands and each command's options) and the systemd units (written
for the prefix; `systemd-analyze verify` passes on them)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import harness as H  # noqa: E402

BUILD_DIR = os.path.dirname(os.path.abspath(H.BIN))


def install(prefix):
    cmake = shutil.which("cmake")
    assert cmake, "cmake not found"
    p = subprocess.run([cmake, "--install", BUILD_DIR, "--prefix", prefix],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_install_places_binary_and_examples():
    prefix = tempfile.mkdtemp(prefix="bs-install-")
    try:
        out = install(prefix)
        binary = os.path.join(prefix, "bin", "bitsleuth")
        assert os.access(binary, os.X_OK), out
        share = os.path.join(prefix, "share", "bitsleuth")
        for name in ("bitsleuth.yaml", "full.yaml", "compose.yaml", "full-sentinel.yaml",
                     "full-cluster.yaml", "compose-ha.yaml", "stunnel-redis.conf"):
            assert os.path.isfile(os.path.join(share, name)), (name, out)
        v = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        assert v.returncode == 0 and v.stdout.startswith("bitsleuth "), v
        env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET=H.SECRET)
        c = subprocess.run([binary, "check", "-c", os.path.join(share, "bitsleuth.yaml")],
                           capture_output=True, text=True, env=env, timeout=30)
        assert c.returncode == 0, c.stdout + c.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def test_installed_binary_runs_the_example_config():
    prefix = tempfile.mkdtemp(prefix="bs-install-")
    redis = H.RedisServer()
    proc = None
    try:
        install(prefix)
        with open(os.path.join(prefix, "share", "bitsleuth", "bitsleuth.yaml")) as f:
            text = f.read()
        # The example as shipped, on a free port and the test's Redis.
        text = re.sub(r"(?m)^listen: .*$", "listen: 127.0.0.1:0", text)
        text = re.sub(r"redis://127\.0\.0\.1:6379/0", "redis://127.0.0.1:%d/0" % redis.port, text)
        saved_bin = H.BIN
        H.BIN = os.path.join(prefix, "bin", "bitsleuth")
        try:
            proc = H.Bitsleuth(text, env_extra={"BITBUCKET_WEBHOOK_SECRET": H.SECRET})
        finally:
            H.BIN = saved_bin
        body = H.read_fixture("jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_update.json")
        status, reply = proc.post("repo:push", body)[:2]
        assert status == 202, (status, reply)
        H.wait_for(lambda: H.stream_len(redis, "{bitsleuth}:dryrun") >= 1, 30,
                   what="the dry-run deploy of the installed binary")
        entry = redis.cmd("XRANGE", "{bitsleuth}:dryrun", "-", "+")[0][1]
        fields = {k.decode(): v.decode("utf-8", "replace") for k, v in zip(entry[::2], entry[1::2])}
        assert fields.get("target") == "acme/temp/production", fields
        sha = json.loads(fields["body"])["sha"]
        assert re.fullmatch(r"[0-9a-f]{40}", sha), fields
    finally:
        try:
            if proc:
                rc = proc.stop()
                proc.assert_clean_log()
                assert rc == 0, proc.log()[-3000:]
        finally:
            redis.close()
            shutil.rmtree(prefix, ignore_errors=True)


def help_table():
    """The commands of the --help table (cmd/help.c: bs_help_texts), and
    each one's --help text from the binary."""
    src = open(os.path.join(H.SOURCE_DIR, "cmd", "help.c")).read()
    table = src[src.index("bs_help_texts[] = {"):]
    names = re.findall(r'(?m)^\t\{ "([a-z]+)",$', table)
    assert {"run", "serve", "work", "check", "dlq"} <= set(names), names
    texts = {}
    for n in names:
        p = subprocess.run([H.BIN, "help", n], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, (n, p.stderr)
        texts[n] = p.stdout
    return texts


def test_man_page_renders_cleanly_and_has_every_command():
    groff = H.need("groff", "groff")
    prefix = tempfile.mkdtemp(prefix="bs-install-")
    try:
        install(prefix)
        page = os.path.join(prefix, "share", "man", "man1", "bitsleuth.1")
        assert os.path.isfile(page), page
        p = subprocess.run([groff, "-ww", "-man", "-Tutf8", page], capture_output=True, timeout=60)
        assert p.returncode == 0 and p.stderr == b"", p.stderr.decode()
        # Plain text: no bold/underline overstrikes, no hyphenation.
        p = subprocess.run([groff, "-ww", "-man", "-Tascii", "-P", "-cbou", page], capture_output=True,
                           text=True, timeout=60)
        assert p.stderr == "", p.stderr
        text = re.sub(r"\s+", " ", p.stdout)
        for cmd, help_text in help_table().items():
            assert re.search(r"(?m)^ {3}%s$" % cmd, p.stdout), "no section for %s" % cmd
            # Every option of the command's --help is in the page.
            for opt in set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", help_text)):
                assert opt in text, (cmd, opt)
            # And its usage line, word for word.
            usage = re.sub(r"\s+", " ", help_text.split("\n", 1)[0]).strip()
            assert usage in text, (cmd, usage)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def complete(script, line):
    """The completions bash offers for `line` (ending where the cursor is)
    with script loaded."""
    words = line.split(" ")
    prog = ('source "$1"; COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%s; COMP_POINT=${#COMP_LINE}; '
            '_bitsleuth; printf "%%s\\n" "${COMPREPLY[@]}"'
            % (" ".join("'%s'" % w for w in words), len(words) - 1, "'%s'" % line))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog, "bash", script], capture_output=True,
                       text=True, timeout=30, cwd=tempfile.gettempdir())
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return set(w for w in p.stdout.split("\n") if w)


def test_bash_completion_completes_commands_subcommands_and_options():
    prefix = tempfile.mkdtemp(prefix="bs-install-")
    try:
        install(prefix)
        script = os.path.join(prefix, "share", "bash-completion", "completions", "bitsleuth")
        assert os.path.isfile(script), script
        table = help_table()
        assert complete(script, "bitsleuth ") == set(table) | {"help", "--help", "--version"}
        assert complete(script, "bitsleuth d") == {"dlq", "dryrun"}
        assert complete(script, "bitsleuth dlq ") == {"list", "show", "replay", "purge"}
        run_opts = complete(script, "bitsleuth run -")
        assert {"-c", "--config", "-v", "--verbose", "-q", "--quiet", "--listen", "--metrics-listen",
                "--help"} <= run_opts, run_opts
        assert "--listen" not in complete(script, "bitsleuth work --"), "work takes no --listen"
        assert {"--strict", "--print", "--explain-event"} <= complete(script, "bitsleuth check --")
        assert complete(script, "bitsleuth dlq purge --y") == {"--yes"}
        assert complete(script, "bitsleuth help dl") == {"dlq"}
        # Every option the command's --help names is offered.
        for cmd, text in table.items():
            want = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
            got = complete(script, "bitsleuth %s --" % cmd)
            assert want <= got, (cmd, want - got)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def test_systemd_units_verify():
    prefix = tempfile.mkdtemp(prefix="bs-install-")
    try:
        install(prefix)
        units = os.path.join(prefix, "lib", "systemd", "system")
        names = sorted(os.listdir(units))
        assert names == ["bitsleuth-serve.service", "bitsleuth-work@.service", "bitsleuth.service"], names
        for name in names:
            text = open(os.path.join(units, name)).read()
            mode = {"bitsleuth.service": "run", "bitsleuth-serve.service": "serve"}.get(name, "work")
            # Written for the prefix installed to.
            assert re.search(r"(?m)^ExecStart=%s/bin/bitsleuth %s -c %s/etc/bitsleuth/bitsleuth\.yaml$"
                             % (re.escape(prefix), mode, re.escape(prefix)), text), text
            for want in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM",
                         "Restart=on-failure", "DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes",
                         "NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes",
                         "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                         "SystemCallFilter=@system-service"):
                assert re.search(r"(?m)^%s$" % re.escape(want), text), (name, want)
            # Stop waits longer than the longest drain with the defaults
            # (sleuth 30 s + backfill 30 s + redis 5 s + 1 s).
            stop = int(re.search(r"(?m)^TimeoutStopSec=(\d+)$", text).group(1))
            assert stop > 66, stop
        assert "LoadCredential=webhook-secret:" in open(os.path.join(units, "bitsleuth.service")).read()
        analyze = H.need("systemd-analyze", "systemd")
        # The binary named by ExecStart is the one just installed; the
        # template is verified as an instance.
        work = os.path.join(units, "bitsleuth-work@.service")
        shutil.copy(work, os.path.join(units, "bitsleuth-work@1.service"))
        os.unlink(work)
        for name in sorted(os.listdir(units)):
            p = subprocess.run([analyze, "verify", "--man=no", os.path.join(units, name)],
                               capture_output=True, text=True, timeout=120)
            # verify exits 0 on unknown keys too, but says so: nothing said is the pass.
            assert p.returncode == 0 and p.stdout + p.stderr == "", (name, p.stdout + p.stderr)
        # The sandbox, as systemd rates it (packaging/README.md: 1.5, "OK").
        p = subprocess.run([analyze, "security", "--offline=yes", os.path.join(units, "bitsleuth.service")],
                           capture_output=True, text=True, timeout=120)
        m = re.search(r"Overall exposure level for bitsleuth\.service: (\d+\.\d+)", p.stdout)
        assert m and float(m.group(1)) <= 2.0, p.stdout[-2000:] + p.stderr
        print("  systemd-analyze security: bitsleuth.service exposure %s" % m.group(1), flush=True)
        # The check can fail: a unit with a wrong directive is reported.
        bad = os.path.join(units, "bitsleuth-bad.service")
        with open(bad, "w") as f:
            f.write(open(os.path.join(units, "bitsleuth.service")).read().replace(
                "Type=notify", "Type=notfy"))
        p = subprocess.run([analyze, "verify", "--man=no", bad], capture_output=True, text=True, timeout=120)
        assert "notfy" in p.stdout + p.stderr, p.stdout + p.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    H.run_tests([
        ("install places the binary and the example configs", test_install_places_binary_and_examples),
        ("the installed binary runs the example config", test_installed_binary_runs_the_example_config),
        ("the man page renders cleanly and has every command", test_man_page_renders_cleanly_and_has_every_command),
        ("the bash completion completes commands, subcommands and options",
         test_bash_completion_completes_commands_subcommands_and_options),
        ("the systemd units verify", test_systemd_units_verify),
    ])
