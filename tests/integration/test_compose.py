#!/usr/bin/env python3
"""docker-compose.yml as Debian's `docker-compose config` renders it: by
default redis, serve, two work replicas and Prometheus; only the hook port
is published; Prometheus scrapes serve and every work replica on the
metrics_listen port of the config they mount, and loads the alert rules;
Grafana only with its profile. The configs the services mount pass
`bitsleuth check`, and the image's health check asks the metrics port.
README "Running in production": the drain deadline it states and its
Kubernetes Deployment (probes, grace period) hold.
(docker-compose is installed by scripts/deps.sh test; it brings
python3-yaml, which reads its output here.)"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H

COMPOSE = os.path.join(H.SOURCE_DIR, "docker-compose.yml")
DOCKERFILE = os.path.join(H.SOURCE_DIR, "Dockerfile")


def compose_config(*profiles):
    assert shutil.which("docker-compose"), "docker-compose not found (scripts/deps.sh test installs it)"
    import yaml
    args = ["docker-compose", "-f", COMPOSE]
    for p in profiles:
        args += ["--profile", p]
    env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET="x", SLEUTH_API_TOKEN="y")
    env.pop("BITSLEUTH_CONFIG_FILE", None)
    env.pop("BITSLEUTH_HA_CONFIG_FILE", None)
    p = subprocess.run(args + ["config"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    c = yaml.safe_load(p.stdout)
    # Compose 1.29 renders every service, each with its profiles; `up`
    # starts those without one and those of the profiles given.
    c["services"] = {n: s for n, s in c["services"].items()
                     if not s.get("profiles") or set(s["profiles"]) & set(profiles)}
    return c


def published(svc):
    """The host side of every published port of a rendered service."""
    out = []
    for p in svc.get("ports", []):
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), str(p.get("published")), str(p.get("target"))))
        else:
            parts = str(p).split("/")[0].split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
            out.append((host_ip, parts[-2], parts[-1]))
    return out


def mounted(svc, target):
    """The host path mounted at target in a rendered service."""
    for v in svc.get("volumes", []):
        src, dst = (v["source"], v["target"]) if isinstance(v, dict) else v.split(":")[:2]
        if dst == target:
            return src
    return None


def config_of(svc):
    path = mounted(svc, "/etc/bitsleuth/bitsleuth.yaml")
    assert path, svc
    return path


def top_level(cfg_path, key):
    m = re.search(r"(?m)^%s:\s*(\S+)" % re.escape(key), open(cfg_path).read())
    return m.group(1) if m else None


def test_default_services_ports_and_replicas():
    c = compose_config()
    services = c["services"]
    assert sorted(services) == ["prometheus", "redis", "serve", "work"], sorted(services)
    # Only the hook port, on serve: 8080 inside, loopback on the host.
    ports = {n: published(s) for n, s in services.items() if published(s)}
    assert list(ports) == ["serve"], ports
    assert ports["serve"] == [("127.0.0.1", "8080", "8080")], ports
    cfg = config_of(services["serve"])
    assert top_level(cfg, "listen") == "0.0.0.0:8080", cfg
    metrics = top_level(cfg, "metrics_listen")
    assert metrics and metrics.startswith("0.0.0.0:"), "the compose config needs metrics_listen"
    mport = metrics.rsplit(":", 1)[1]
    assert mport != "8080"
    # The modes and the replicas.
    assert services["serve"]["command"][0] == "serve", services["serve"]["command"]
    assert services["work"]["command"][0] == "work", services["work"]["command"]
    assert services["work"]["deploy"]["replicas"] == 2, services["work"]
    assert config_of(services["work"]) == cfg
    for n in ("serve", "work"):
        assert services[n]["stop_signal"] == "SIGTERM", n
        assert str(mport) in [str(e) for e in services[n].get("expose", [])], (n, services[n].get("expose"))
    # The mounted config passes check.
    env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET="x", SLEUTH_API_TOKEN="y")
    p = subprocess.run([H.BIN, "check", "-c", cfg], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 0, (p.stdout, p.stderr)
    # The image's health check asks the metrics port.
    df = open(DOCKERFILE).read()
    hc = re.search(r"(?m)^HEALTHCHECK .*http://127\.0\.0\.1:(\d+)/healthz", df)
    assert hc and hc.group(1) == mport, "the Dockerfile HEALTHCHECK must use metrics_listen's port"


def test_prometheus_scrapes_serve_and_every_work_replica():
    import yaml
    c = compose_config()
    prom = c["services"]["prometheus"]
    assert not published(prom)
    pcfg_path = mounted(prom, "/etc/prometheus/prometheus.yml")
    rules_path = mounted(prom, "/etc/prometheus/bitsleuth-rules.yml")
    assert pcfg_path and os.path.samefile(pcfg_path, os.path.join(H.SOURCE_DIR, "monitoring/prometheus/prometheus.yml"))
    assert rules_path and os.path.samefile(rules_path, os.path.join(H.SOURCE_DIR, "monitoring/prometheus/bitsleuth-rules.yml"))
    mport = top_level(config_of(c["services"]["serve"]), "metrics_listen").rsplit(":", 1)[1]
    pcfg = yaml.safe_load(open(pcfg_path))
    assert pcfg["rule_files"] == ["bitsleuth-rules.yml"], pcfg["rule_files"]
    jobs = {j["job_name"]: j for j in pcfg["scrape_configs"]}
    assert set(jobs) == {"bitsleuth-serve", "bitsleuth-work"}, jobs
    assert jobs["bitsleuth-serve"]["static_configs"][0]["targets"] == ["serve:%s" % mport], jobs
    dns = jobs["bitsleuth-work"]["dns_sd_configs"][0]
    # The service name resolves to every replica's address.
    assert dns["names"] == ["work"] and dns["type"] == "A" and str(dns["port"]) == mport, dns
    # The rules' job matcher covers these job names.
    rules = open(os.path.join(H.SOURCE_DIR, "monitoring/prometheus/bitsleuth-rules.yml")).read()
    assert 'up{job=~"bitsleuth.*"}' in rules
    assert all(re.match("bitsleuth.*", j) for j in jobs)


def test_grafana_only_with_its_profile():
    c = compose_config("grafana")
    g = c["services"]["grafana"]
    assert published(g) == [("127.0.0.1", "3000", "3000")], published(g)
    dash = mounted(g, "/var/lib/grafana/dashboards/bitsleuth.json")
    assert dash and os.path.samefile(dash, os.path.join(H.SOURCE_DIR, "monitoring/grafana/bitsleuth.json"))
    prov = mounted(g, "/etc/grafana/provisioning")
    ds = open(os.path.join(prov, "datasources", "prometheus.yml")).read()
    assert "url: http://prometheus:9090" in ds, ds
    # The ha profile's bitsleuth serves metrics too (its own config).
    c = compose_config("ha")
    ha_cfg = config_of(c["services"]["bitsleuth-ha"])
    assert top_level(ha_cfg, "metrics_listen"), ha_cfg
    assert published(c["services"]["bitsleuth-ha"]) == [("127.0.0.1", "8081", "8080")]


def default_drain_deadline_s():
    """cmd/process.c's drain deadline with the default settings, from
    `bitsleuth check --print` on the example config (which sets none of
    them): sleuth.timeout_ms + backfill.max_wait + redis.command_timeout_ms
    + 1 s (no wait_replicas)."""
    env = dict(os.environ, BITBUCKET_WEBHOOK_SECRET="x")
    cfg = os.path.join(H.SOURCE_DIR, "examples", "bitsleuth.yaml")

    def ms(key):
        p = subprocess.run([H.BIN, "check", "-c", cfg, "--print", key], capture_output=True, text=True,
                           env=env, timeout=30)
        assert p.returncode == 0, (key, p.stderr)
        v = p.stdout.strip()
        return int(v[:-2]) if v.endswith("ms") else int(v)
    assert ms("redis.wait_replicas") == 0
    return (ms("sleuth.timeout_ms") + ms("backfill.max_wait") + ms("redis.command_timeout_ms") + 1000) / 1000


def test_readme_production_snippets():
    """README "Running in production": the drain deadline it states is the
    defaults' one, and its Kubernetes Deployment parses, probes the metrics
    port (/healthz liveness, /readyz readiness) and waits longer than the
    drain before it kills."""
    import yaml
    readme = open(os.path.join(H.SOURCE_DIR, "README.md")).read()
    sec = readme[readme.index("### Running in production"):readme.index("### Alerting")]
    deadline = default_drain_deadline_s()
    assert "(%d s with the defaults)" % deadline in sec, deadline
    k8s = sec[sec.index("#### Kubernetes"):]
    block = re.search(r"```yaml\n(.*?)```", k8s, re.S).group(1)
    docs = [d for d in yaml.safe_load_all(block) if d]
    assert docs and docs[0]["kind"] == "Deployment", docs
    pod = docs[0]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, c["livenessProbe"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, c["readinessProbe"]
    assert ports["metrics"] == 9180 and ports["hook"] == 8080, ports
    pause = int(c["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > deadline + pause, (pod["terminationGracePeriodSeconds"], deadline)
    for f in ("bitbucket: {secret_file:", "sleuth: {token_file:", "metrics_listen: 0.0.0.0:9180"):
        assert f in block, f


if __name__ == "__main__":
    H.run_tests([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)])
