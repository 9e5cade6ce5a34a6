#!/usr/bin/env python3
"""Native histograms end to end: quantiles from a real Prometheus.

Starts examples/quantiles (10,000 job durations log-uniform between 1 s and
1 day, in native buckets at schema 3, served on 127.0.0.1:19284; it prints
the exact quantiles of the set) and two Prometheus 2.42 servers scraping it:
one with --enable-feature=native-histograms (it negotiates the protobuf
exposition and stores the native histogram), one without (it scrapes
OpenMetrics and stores the classic ladder). The native one also stores
exemplars, which must come through the protobuf exposition (every 1000th
observation carries a trace id). histogram_quantile(0.5, 0.9,
0.99) on the native series must land within the schema's bucket width
(2^(1/8) - 1 = 9.05 %) of the exact quantile; the classic ladder's error on
the same data is printed beside it. Everything is bounded in time and
stopped at the end.

usage: native_e2e.py QUANTILES_BINARY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import time

from prometheus_e2e import query, stop, wait_for

TARGET = "127.0.0.1:19284"
NATIVE = "http://127.0.0.1:19390"
CLASSIC = "http://127.0.0.1:19391"
WIDTH = 2 ** (1 / 8) - 1
CONFIG = f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: quantiles
    static_configs:
      - targets: ["{TARGET}"]
"""


def wait_value(server, expr, timeout=60):
    """The first value of `expr` once it is a finite number."""
    def ready():
        result = query(expr, server)
        ok = bool(result) and result[0]["value"][1] not in ("NaN", "+Inf")
        return ok, result
    return float(wait_for(f"{expr} at {server}", ready, timeout)[0]["value"][1])


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="rm-native-")
    procs = []
    try:
        target = subprocess.Popen([binary, "--listen", TARGET], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        procs.append(target)
        exact = json.loads(target.stdout.readline())["exact"]
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write(CONFIG)
        for name, server, flags in [("native", NATIVE, ["--enable-feature=native-histograms,exemplar-storage"]),
                                    ("classic", CLASSIC, [])]:
            port = server.rsplit(":", 1)[1]
            procs.append(subprocess.Popen(
                ["prometheus", "--config.file", config, "--web.listen-address", f"127.0.0.1:{port}",
                 "--storage.tsdb.path", os.path.join(tmp, name)] + flags,
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, f"{name}.log"), "w")))
        failed = 0
        print("| quantile | exact (s) | native (s) | native error | classic (s) | classic error |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for q in ["0.5", "0.9", "0.99"]:
            want = exact[q]
            native = wait_value(NATIVE, f"histogram_quantile({q}, rm_job_duration_seconds)")
            classic = wait_value(CLASSIC, f"histogram_quantile({q}, rm_job_duration_seconds_bucket)")
            n_err, c_err = native / want - 1, classic / want - 1
            print(f"| {q} | {want:.1f} | {native:.1f} | {n_err:+.2%} | {classic:.1f} | {c_err:+.2%} |")
            if abs(n_err) > WIDTH:
                failed += 1
                print(f"FAIL the native p{q} is {n_err:+.2%} off, more than a bucket width ({WIDTH:.2%})")
        # The native series really is a native histogram: no _bucket series.
        buckets = query("rm_job_duration_seconds_bucket", NATIVE)
        if buckets:
            failed += 1
            print(f"FAIL the native-histograms server stored classic buckets: {len(buckets)} series")
        # Exemplars came through the protobuf exposition too.
        def exemplars():
            now = time.time()
            url = f"{NATIVE}/api/v1/query_exemplars?" + urllib.parse.urlencode(
                {"query": "rm_job_duration_seconds", "start": now - 600, "end": now + 60})
            with urllib.request.urlopen(url, timeout=5) as r:
                data = json.load(r)["data"]
            ids = {e["labels"].get("trace_id") for d in data for e in d["exemplars"]}
            return bool(ids) and all(i and len(i) == 32 for i in ids), ids
        ids = wait_for("exemplars on the native series", exemplars, 30)
        print(f"exemplars on the native series: {len(ids)} trace ids")
        count = wait_value(NATIVE, "histogram_count(rm_job_duration_seconds)")
        if count != 10000:
            failed += 1
            print(f"FAIL histogram_count is {count}, not 10000")
        print(f"native_e2e: {'FAILED' if failed else 'ok'} (count {count:.0f})")
        return 1 if failed else 0
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
