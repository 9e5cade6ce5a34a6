#!/usr/bin/env python3
"""The Grafana dashboard on a real fleet's cadence, in a real Prometheus.

The demo finishes a job every few milliseconds, so any dashboard query
returns data against it. A real fleet backs up once a day. This check
writes 8 days of a realistic fleet as OpenMetrics (12 hosts, one nightly
backup each, a check every 6 hours, a nightly prune, scraped every 5
minutes), backfills it into a TSDB with `promtool tsdb create-blocks-from
openmetrics`, starts Prometheus on it, and evaluates every panel's query as
Grafana would at the end of the data, over the dashboard's default range
(`$__range` = 7 d): each must return data. Among the hosts: one never
backed up, one whose last backup failed, one offline; every one of them must
appear in the backup-age panel.

A negative control shows the check can fail: the quantile query the
dashboard had before (`rate(...[$__rate_interval])` with a 1 m interval)
returns nothing at the end of this data.

Prints each panel's query and what it returned. Bounded in time; the
Prometheus it starts is stopped at the end.

usage: dashboard_slow.py
"""
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROM = "http://127.0.0.1:19091"
STEP = 300  # scrape interval of the synthetic data, seconds
DAYS = 8
BOUNDS = [1, 5, 30, 60, 300, 1800, 3600, 21600, 86400]
LABELS = 'job="restic-manager",instance="rm.example:9184"'


def simulate(end):
    """Per-scrape values of every series from end - DAYS days to end."""
    rng = random.Random(20261126)
    start = end - DAYS * 86400
    hosts = []
    for i in range(12):
        hosts.append({
            "id": f"host-{i + 1:02d}", "name": f"node{i + 1}.example.org",
            "backup_at": rng.randrange(0, 86400, 600),  # nightly, at a fixed time of day
            "never": i == 3,            # enrolled, never backed up
            "fails_last": i == 5,       # the most recent backup failed
            "offline_from": end - 7200 if i == 7 else None,
            "status": "init_failed" if i == 3 else "ready",
        })
    # Jobs: (finish time, kind, status, seconds, host index)
    jobs = []
    for day in range(DAYS + 1):
        base = start - start % 86400 + day * 86400
        for h, host in enumerate(hosts):
            if host["never"]:
                continue
            t = base + host["backup_at"]
            if start <= t <= end:
                last_day = t + 86400 > end
                status = "failed" if (last_day and host["fails_last"]) else \
                    ("failed" if rng.random() < 0.05 else ("canceled" if rng.random() < 0.02 else "succeeded"))
                jobs.append((t, "backup", status, rng.lognormvariate(math.log(900), 0.6), h))
            for k in range(4):  # checks every 6 hours
                tc = base + k * 21600 + 1800 + h * 60
                if start <= tc <= end:
                    jobs.append((tc, "check", "succeeded" if rng.random() < 0.97 else "failed",
                                 rng.lognormvariate(math.log(120), 0.5), h))
        tp = base + 3 * 3600
        if start <= tp <= end:
            jobs.append((tp, "prune", "succeeded", rng.lognormvariate(math.log(2400), 0.4), 0))
    jobs.sort()
    return start, hosts, jobs


def openmetrics(end):
    start, hosts, jobs = simulate(end)
    times = list(range(start, end + 1, STEP))
    out = []
    # Histogram: cumulative state at each scrape.
    keys = sorted({(k, s) for _, k, s, _, _ in jobs})
    state = {key: ([0] * (len(BOUNDS) + 1), 0.0) for key in keys}
    series = {key: [] for key in keys}
    j = 0
    for t in times:
        while j < len(jobs) and jobs[j][0] <= t:
            _, k, s, secs, _ = jobs[j]
            buckets, total = state[(k, s)]
            b = next((i for i, le in enumerate(BOUNDS) if secs <= le), len(BOUNDS))
            buckets[b] += 1
            state[(k, s)] = (buckets, total + secs)
            j += 1
        for key in keys:
            buckets, total = state[key]
            series[key].append((t, list(buckets), total))
    out.append("# HELP rm_job_duration_seconds End-to-end duration of finished jobs.")
    out.append("# TYPE rm_job_duration_seconds histogram")
    for (k, s) in keys:
        lab = f'{LABELS},kind="{k}",status="{s}"'
        for t, buckets, total in series[(k, s)]:
            acc = 0
            for i, le in enumerate(BOUNDS + ["+Inf"]):
                acc += buckets[i]
                le_s = "+Inf" if le == "+Inf" else f"{float(le)}"
                out.append(f'rm_job_duration_seconds_bucket{{{lab},le="{le_s}"}} {acc} {t}')
            out.append(f"rm_job_duration_seconds_count{{{lab}}} {acc} {t}")
            out.append(f"rm_job_duration_seconds_sum{{{lab}}} {total:.3f} {t}")
    # Per-host gauges.
    last = {}  # host index -> (time, succeeded)
    per_host = {name: [] for name in ("online", "last_ts", "last_ok", "snapshots")}
    j = 0
    snaps = [0] * len(hosts)
    for t in times:
        while j < len(jobs) and jobs[j][0] <= t:
            tj, k, s, _, h = jobs[j]
            if k == "backup" and s != "canceled":
                last[h] = (tj, s == "succeeded")
                snaps[h] += s == "succeeded"
            j += 1
        for h, host in enumerate(hosts):
            online = 0 if host["offline_from"] is not None and t >= host["offline_from"] else 1
            per_host["online"].append((h, t, online))
            per_host["snapshots"].append((h, t, snaps[h]))
            if h in last:
                per_host["last_ts"].append((h, t, last[h][0]))
                per_host["last_ok"].append((h, t, 1 if last[h][1] else 0))

    def gauge(name, help_text, rows):
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} gauge")
        for h in range(len(hosts)):
            lab = f'{LABELS},host_id="{hosts[h]["id"]}",host="{hosts[h]["name"]}"'
            for hh, t, v in rows:
                if hh == h:
                    out.append(f"{name}{{{lab}}} {v} {t}")

    gauge("rm_host_agent_online", "1 if the host's agent is connected.", per_host["online"])
    gauge("rm_host_last_backup_timestamp_seconds", "Unix time of the most recent backup.", per_host["last_ts"])
    gauge("rm_host_last_backup_success", "1 if the most recent backup succeeded.", per_host["last_ok"])
    gauge("rm_host_snapshot_count", "Snapshots in the host's repository.", per_host["snapshots"])
    out.append("# HELP rm_host_repo_size_bytes Latest reported repository size.")
    out.append("# TYPE rm_host_repo_size_bytes gauge")
    for h, host in enumerate(hosts):
        lab = f'{LABELS},host_id="{host["id"]}",host="{host["name"]}"'
        for t in times:
            out.append(f"rm_host_repo_size_bytes{{{lab}}} {(h + 1) * 10**10 + (t - start) * 1000} {t}")
    out.append("# HELP rm_host_repo_status Repo readiness state for the host.")
    out.append("# TYPE rm_host_repo_status gauge")
    for host in hosts:
        lab = f'{LABELS},host_id="{host["id"]}",host="{host["name"]}",status="{host["status"]}"'
        for t in times:
            out.append(f"rm_host_repo_status{{{lab}}} 1 {t}")
    for name, value in (("rm_hosts_total", len(hosts)),):
        out.append(f"# HELP {name} Enrolled hosts.")
        out.append(f"# TYPE {name} gauge")
        for t in times:
            out.append(f"{name}{{{LABELS}}} {value} {t}")
    out.append("# HELP rm_hosts_online Hosts whose agent is connected.")
    out.append("# TYPE rm_hosts_online gauge")
    for t in times:
        online = sum(1 for h in hosts if h["offline_from"] is None or t < h["offline_from"])
        out.append(f"rm_hosts_online{{{LABELS}}} {online} {t}")
    out.append("# HELP rm_active_alerts Open alerts by severity.")
    out.append("# TYPE rm_active_alerts gauge")
    for sev in ("critical", "info", "warning"):
        for t in times:
            out.append(f'rm_active_alerts{{{LABELS},severity="{sev}"}} {1 if sev == "warning" else 0} {t}')
    out.append("# EOF")
    return "\n".join(out) + "\n", hosts


def query(expr, at):
    url = f"{PROM}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": str(at)})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return body["data"]["result"]


def panels():
    with open(os.path.join(ROOT, "deploy/grafana/rm-metrics-dashboard.json")) as f:
        dash = json.load(f)
    rng = dash["time"]["from"]
    assert rng == "now-7d", rng
    for p in dash["panels"]:
        for t in p["targets"]:
            yield p["title"], t["refId"], t["range"], t["expr"].replace("$__range", "7d").replace("$__rate_interval", "20m").replace(
                "$__interval", "5m")


def main():
    end = int(time.time()) - 600
    end -= end % STEP
    tmp = tempfile.mkdtemp(prefix="rm-dash-")
    proc = None
    passed = failed = 0
    try:
        text, hosts = openmetrics(end)
        src = os.path.join(tmp, "fleet.om")
        with open(src, "w") as f:
            f.write(text)
        data = os.path.join(tmp, "data")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", src, data],
                       check=True, stdout=subprocess.DEVNULL, timeout=600)
        log = open(os.path.join(tmp, "prometheus.log"), "w")
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 5m}\n")
        proc = subprocess.Popen(["prometheus", "--config.file", cfg, "--storage.tsdb.path", data,
                                 "--storage.tsdb.retention.time", "30d",
                                 "--web.listen-address", "127.0.0.1:19091"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                if query("count(rm_host_agent_online)", end):
                    break
            except Exception:
                pass
            if time.time() > deadline:
                raise RuntimeError("Prometheus did not load the backfilled blocks")
            time.sleep(0.5)

        def check(name, ok, detail):
            nonlocal passed, failed
            passed, failed = passed + ok, failed + (not ok)
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")

        for title, ref, is_range, expr in panels():
            r = query(expr, end)
            vals = [x["value"][1] for x in r]
            shown = ", ".join(
                f"{'/'.join(v for k, v in sorted(x['metric'].items()) if k in ('kind', 'host', 'severity', 'status'))}"
                f"={x['value'][1][:8]}" for x in r[:6])
            ok = len(r) > 0 and all(v not in ("NaN",) for v in vals)
            check(f"panel {title!r}: {expr}", ok, f"{len(r)} series; {shown}{' …' if len(r) > 6 else ''}")
            if title.startswith("Backup age") and ref == "A":
                # The age column has a row for every host (-1: never); the
                # table joins the other columns to it by host.
                never = {x["metric"].get("host") for x in r if x["value"][1] == "-1"}
                check("backup age lists a host never backed up as 'never' (-1)",
                      never == {h["name"] for h in hosts if h["never"]}, f"never: {sorted(never)}")
                got = {x["metric"].get("host") for x in r}
                want = {h["name"] for h in hosts}
                check("backup age shows every host (never backed up, last failed, offline included)",
                      want <= got, f"missing {sorted(want - got)}")
            if is_range:
                # A graph must have data along the range, not only at its end:
                # hourly steps over the last 6 days (the first day of data is
                # the 1 d windows' warm-up).
                url = f"{PROM}/api/v1/query_range?" + urllib.parse.urlencode(
                    {"query": expr, "start": str(end - 6 * 86400), "end": str(end), "step": "3600"})
                with urllib.request.urlopen(url, timeout=30) as resp:
                    series = json.load(resp)["data"]["result"]
                steps = 6 * 24 + 1
                filled = min((sum(1 for _, v in x["values"] if v != "NaN") for x in series), default=0)
                check(f"panel {title!r} {ref} over 6 days", filled >= 0.95 * steps,
                      f"every series has data at {filled} of {steps} hourly steps (at least)")
        old = ('histogram_quantile(0.9, sum by (le, kind) '
               '(rate(rm_job_duration_seconds_bucket[1m])))')
        r = [x for x in query(old, end) if x["value"][1] != "NaN"]
        check("negative control: the old rate(…[$__rate_interval]) quantile has no data at the end",
              len(r) == 0, f"{len(r)} non-NaN series")
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if failed:
            try:
                print(open(os.path.join(tmp, "prometheus.log")).read()[-3000:])
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"dashboard on a slow cadence: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
