#!/usr/bin/env python3
"""End-to-end: the demo exporter scraped by a real Prometheus server.

Starts examples/serve with the token of deploy/prometheus/ci-token and a
37-host fleet on 127.0.0.1:19184, VictoriaMetrics on 127.0.0.1:18428, and
Prometheus on 127.0.0.1:19090 with deploy/prometheus/ci.yml, which
remote-writes to VictoriaMetrics. Then, over the Prometheus HTTP API: up == 1
for the right token, rm_hosts_total == 37, the p90 job-duration query
returns values, the wrong-token scrape is recorded as failed (up == 0), and
every PromQL expression of the Grafana dashboard succeeds and returns data;
Prometheus runs with exemplar storage and scrapes OpenMetrics (its Accept
prefers it), so /api/v1/query_exemplars must return the demo's trace ids on
rm_job_duration_seconds_bucket; the exporter itself answers Prometheus'
Accept with OpenMetrics and no Accept with text 0.0.4, which promtool check
metrics finds clean; and over VictoriaMetrics' query API: the rm_* series
and a histogram_quantile came through remote write. Everything is bounded
in time and stopped at the end.

usage: prometheus_e2e.py SERVE_BINARY
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROM = "http://127.0.0.1:19090"
VM = "http://127.0.0.1:18428"
FLEET = 37
# What Prometheus 2.42 sends.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
passed = failed = 0


def query(expr, server=PROM):
    url = f"{server}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return body["data"]["result"]


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            ok, last = check()
            if ok:
                return last
        except Exception as e:  # server not up yet, query not answerable yet
            last = e
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}; last: {last}")


def check(name, fn):
    global passed, failed
    try:
        detail = fn()
        passed += 1
        print(f"ok   {name}: {detail}")
    except Exception as e:
        failed += 1
        print(f"FAIL {name}: {e}")


def stop(procs):
    """Terminates every process, then kills any still running after 10 s."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def values(result):
    return [float(r["value"][1]) for r in result]


def dashboard_exprs():
    with open(os.path.join(ROOT, "deploy/grafana/rm-metrics-dashboard.json")) as f:
        dash = json.load(f)
    assert dash["schemaVersion"] == 39, dash["schemaVersion"]
    assert len(dash["panels"]) == 10, len(dash["panels"])
    # Import asks for the data source: one Prometheus input, which the
    # datasource variable defaults to; every panel uses the variable.
    inputs = dash["__inputs"]
    assert [(i["name"], i["type"], i["pluginId"]) for i in inputs] == \
        [("DS_PROMETHEUS", "datasource", "prometheus")], inputs
    variables = dash["templating"]["list"]
    assert [v["type"] for v in variables] == ["datasource"], variables
    assert variables[0]["current"]["value"] == "${DS_PROMETHEUS}", variables[0]
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
            # The demo has run for seconds, not the dashboard's 7 days.
            yield p["title"], t["expr"].replace("$__range", "1m").replace(
                "$__rate_interval", "1m").replace("$__interval", "15s")


def main():
    serve = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="rm-e2e-")
    with open(os.path.join(ROOT, "deploy/prometheus/ci-token")) as f:
        token = f.read().strip()
    env = dict(os.environ, RM_METRICS_TOKEN=token)
    env.pop("RM_METRICS_TRUSTED_CIDR", None)
    procs = []
    try:
        exporter_log = open(os.path.join(tmp, "serve.log"), "w")
        procs.append(subprocess.Popen([serve, "--listen", "127.0.0.1:19184", "--hosts", str(FLEET)],
                                      env=env, stdout=exporter_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        vm_log = open(os.path.join(tmp, "victoria-metrics.log"), "w")
        procs.append(subprocess.Popen(["victoria-metrics", "-httpListenAddr", "127.0.0.1:18428",
                                       "-storageDataPath", os.path.join(tmp, "vm"),
                                       "-retentionPeriod", "1d", "-search.latencyOffset", "1s",
                                       "-search.disableCache", "-loggerLevel", "WARN"],
                                      stdout=vm_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
        procs.append(subprocess.Popen(["prometheus", "--config.file", os.path.join(ROOT, "deploy/prometheus/ci.yml"),
                                       "--storage.tsdb.path", os.path.join(tmp, "data"),
                                       "--web.listen-address", "127.0.0.1:19090",
                                       "--enable-feature=exemplar-storage"],
                                      stdout=prom_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))

        def up_right():
            return wait_for("up{job=rm}", lambda: (values(query('up{job="rm"}')) == [1.0], "up"))

        def hosts_total():
            def probe():
                v = values(query('rm_hosts_total{job="rm"}'))
                return v == [float(FLEET)], v
            return wait_for("rm_hosts_total", probe)

        def p90_by_kind():
            expr = ('histogram_quantile(0.9, sum by (le, kind) '
                    '(rate(rm_job_duration_seconds_bucket{job="rm"}[1m])))')

            def probe():
                r = query(expr)
                by_kind = {x["metric"]["kind"]: float(x["value"][1]) for x in r}
                # NaN (no rate yet) compares unequal to itself.
                return len(r) > 0 and all(v == v for v in by_kind.values()), by_kind
            return wait_for(expr, probe)

        def wrong_token_failed():
            def probe():
                with urllib.request.urlopen(f"{PROM}/api/v1/targets", timeout=5) as r:
                    targets = json.load(r)["data"]["activeTargets"]
                t = [t for t in targets if t["labels"]["job"] == "rm-wrong-token"][0]
                up = values(query('up{job="rm-wrong-token"}'))
                return up == [0.0] and "401" in t["lastError"], f"up={up} lastError={t['lastError']!r}"
            detail = wait_for("the wrong-token scrape to fail", probe)
            leaked = query('rm_hosts_total{job="rm-wrong-token"}')
            if leaked:
                raise RuntimeError(f"wrong-token job has samples: {leaked}")
            return detail

        def exemplars_with_trace_ids():
            def probe():
                now = time.time()
                url = f"{PROM}/api/v1/query_exemplars?" + urllib.parse.urlencode(
                    {"query": 'rm_job_duration_seconds_bucket{job="rm"}', "start": now - 600, "end": now})
                with urllib.request.urlopen(url, timeout=5) as r:
                    data = json.load(r)["data"]
                ids = [e["labels"].get("trace_id", "") for series in data for e in series["exemplars"]]
                good = [i for i in ids if re.fullmatch("[0-9a-f]{32}", i)]
                les = {series["seriesLabels"].get("le") for series in data}
                return len(good) >= 5 and len(good) == len(ids), f"{len(good)} trace ids on {len(data)} series, le in {sorted(les)[:5]}"
            return wait_for("exemplars in Prometheus", probe)

        def fetch(accept=None):
            req = urllib.request.Request("http://127.0.0.1:19184/metrics",
                                         headers={"Authorization": f"Bearer {token}"})
            if accept:
                req.add_header("Accept", accept)
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.headers["Content-Type"], r.read()

        def negotiation():
            ct, body = fetch(PROMETHEUS_ACCEPT)
            if ct != "application/openmetrics-text; version=1.0.0; charset=utf-8" or not body.endswith(b"# EOF\n"):
                raise RuntimeError(f"Prometheus' Accept got {ct!r}")
            ct, body = fetch()
            if ct != "text/plain; version=0.0.4; charset=utf-8" or b" # {" in body:
                raise RuntimeError(f"no Accept got {ct!r}")
            lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=30)
            # Exit 3 with only the naming lints that the reference's names
            # (rm_hosts_total as a gauge, rm_host_snapshot_count) trigger by
            # design, as in .ci/promtool-check; a parse error exits 1.
            findings = (lint.stdout + lint.stderr).decode().splitlines()
            other = [f for f in findings if f and not re.search('should not have "_(total|count)" suffix$', f)]
            if lint.returncode not in (0, 3) or other:
                raise RuntimeError(f"promtool check metrics: exit {lint.returncode}: {findings}")
            return f"OpenMetrics for Prometheus' Accept, text 0.0.4 without ({len(body)} bytes; promtool: only the reference names' two naming lints)"

        def panel_returns_data(expr):
            return wait_for(expr, lambda: (lambda r: (len(r) > 0, f"{len(r)} series"))(query(expr)), timeout=30)

        def vm_has(expr, want=None):
            def probe():
                r = query(expr, VM)
                v = values(r)
                ok = len(v) > 0 and all(x == x for x in v) and (want is None or v == want)
                return ok, f"{len(r)} series {v[:4]}"
            return wait_for(f"VictoriaMetrics: {expr}", probe, timeout=60)

        check("up == 1 with the right token", up_right)
        check(f"rm_hosts_total == {FLEET}", hosts_total)
        check("p90 job duration by kind has values", p90_by_kind)
        check("wrong-token scrape recorded as failed", wrong_token_failed)
        check("exemplars with trace ids on rm_job_duration_seconds_bucket", exemplars_with_trace_ids)
        check("content negotiation, and promtool on the text output", negotiation)
        for title, expr in dashboard_exprs():
            check(f"dashboard panel {title!r}: {expr}", lambda expr=expr: panel_returns_data(expr))
        check("remote write: rm_hosts_total in VictoriaMetrics",
              lambda: vm_has('rm_hosts_total{job="rm"}', [float(FLEET)]))
        check("remote write: rm_host_agent_online series in VictoriaMetrics",
              lambda: vm_has('count(rm_host_agent_online{job="rm"})', [float(FLEET)]))
        check("remote write: histogram_quantile from VictoriaMetrics",
              lambda: vm_has('histogram_quantile(0.9, sum by (le, kind) '
                             '(rate(rm_job_duration_seconds_bucket{job="rm"}[1m])))'))
    finally:
        stop(procs)
        if failed:
            for log in ("serve.log", "prometheus.log", "victoria-metrics.log"):
                print(f"--- {log} (tail)")
                with open(os.path.join(tmp, log)) as f:
                    print("".join(f.readlines()[-20:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"prometheus e2e: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
