#!/usr/bin/env python3
"""Differential and parse-back checks of the renderer (run by .ci/run).

compare  REF OURS [N]  N random specs in the reference's safe domain (label
                       values of printable characters, as Go's %q leaves them
                       raw) rendered by the Go reference REF and by our
                       examples/render OURS: every line identical, except _sum
                       values within a relative 1e-9.
parseback OURS [N]     N random specs with arbitrary Unicode label values
                       (tabs, CR, NUL, controls, non-characters ...) rendered
                       by OURS and parsed back with prometheus_client's
                       exposition parser: every label value unchanged, every
                       sample value as specified.
"""
import json
import random
import subprocess
import sys

# Printable for Go's strconv.IsPrint (so %q keeps them raw) plus the three
# characters both %q and the text format escape the same way.
SAFE = list("abcxyzABCXYZ0189 -_.:/@+=,;{}[]()#$%&*!?'`~^|<>") + ['"', "\\", "\n"] + list(
    "üéßÆøåñçЖжΩλ日本語中文한국어😀🚀€£¥©®™")
BOUNDS = [1, 5, 30, 60, 300, 1800, 3600, 21600, 86400]
I64 = (-(1 << 63), (1 << 63) - 1)


def rand_str(rng, alphabet, max_len=12):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))


def any_char(rng):
    while True:
        c = rng.choice([
            lambda: rng.randint(0, 0x7F),
            lambda: rng.randint(0, 0x7FF),
            lambda: rng.randint(0, 0xFFFF),
            lambda: rng.randint(0, 0x10FFFF),
        ])()
        if not 0xD800 <= c <= 0xDFFF:  # JSON and Rust strings hold scalar values only
            return chr(c)


def rand_any_str(rng, max_len=12):
    return "".join(any_char(rng) for _ in range(rng.randint(0, max_len)))


def rand_duration(rng):
    r = rng.random()
    if r < 0.3:
        return BOUNDS[rng.randrange(len(BOUNDS))] * 10**9 + rng.choice([-1, 0, 1])
    if r < 0.4:
        return rng.randint(-10**12, 0)
    if r < 0.5:
        return rng.choice([0, 1, -1, I64[1], I64[0]])
    return rng.randint(0, 10 ** rng.randint(1, 15))


def rand_spec(rng, text):
    n_hosts = rng.randint(0, 12)
    ids = set()
    hosts = []
    for _ in range(n_hosts):
        hid = text(rng)
        if hid in ids:
            continue
        ids.add(hid)
        h = {"id": hid, "name": text(rng), "online": rng.random() < 0.5,
             "snapshot_count": rng.choice([0, rng.randint(0, 1000), rng.randint(0, I64[1])]),
             "open_alert_count": rng.randint(0, 50),
             "repo_status": rng.choice(["", "ready", "init_failed", text(rng)])}
        for key, gen in (("last_backup_unix", lambda: rng.randint(*I64)),
                         ("last_backup_succeeded", lambda: rng.random() < 0.5),
                         ("repo_size_bytes", lambda: rng.choice([rng.randint(*I64), rng.randint(0, 1 << 40)]))):
            r = rng.random()
            if r < 0.3:
                continue  # absent
            h[key] = None if r < 0.4 else gen()
        hosts.append(h)
    kinds = [text(rng) for _ in range(rng.randint(1, 4))]
    statuses = [text(rng) for _ in range(rng.randint(1, 3))]
    jobs = [{"kind": rng.choice(kinds), "status": rng.choice(statuses), "duration_ns": rand_duration(rng)}
            for _ in range(rng.randint(0, 40))]
    alerts = {s: rng.randint(0, 100) for s in ["info", "warning", "critical", "page"] if rng.random() < 0.7}
    return {"hosts": hosts, "alerts_by_severity": alerts, "build_version": text(rng),
            "build_commit": text(rng), "go_version": text(rng), "jobs": jobs}


def run(binary, spec):
    p = subprocess.run([binary], input=json.dumps(spec).encode(), capture_output=True, timeout=30)
    if p.returncode != 0:
        raise SystemExit(f"{binary} failed: {p.stderr.decode()}\nspec: {json.dumps(spec)}")
    return p.stdout.decode()


def same(ours, ref):
    a, b = ours.split("\n"), ref.split("\n")
    if len(a) != len(b):
        return f"line count {len(a)} != {len(b)}"
    for x, y in zip(a, b):
        if x == y:
            continue
        kx, _, vx = x.rpartition(" ")
        ky, _, vy = y.rpartition(" ")
        if kx != ky or not kx.startswith("rm_job_duration_seconds_sum{"):
            return f"ours {x!r}\n ref {y!r}"
        fx, fy = float(vx), float(vy)
        if fx != fy and abs(fx - fy) > 1e-9 * abs(fy):
            return f"_sum {vx} vs {vy}"
    return None


def compare(ref, ours, n):
    rng = random.Random(20261125)
    for i in range(n):
        spec = rand_spec(rng, lambda r: rand_str(r, SAFE))
        diff = same(run(ours, spec), run(ref, spec))
        if diff:
            raise SystemExit(f"case {i} differs: {diff}\nspec: {json.dumps(spec)}")
    print(f"oracle: {n} passed, 0 failed")


def parseback(ours, n):
    from prometheus_client.parser import text_string_to_metric_families
    rng = random.Random(42)
    for i in range(n):
        spec = rand_spec(rng, rand_any_str)
        text = run(ours, spec)
        samples = [s for fam in text_string_to_metric_families(text) for s in fam.samples]

        def labels(name):
            return [s.labels for s in samples if s.name == name]

        want_hosts = sorted(spec["hosts"], key=lambda h: h["id"].encode())
        got = labels("rm_host_agent_online")
        want = [{"host_id": h["id"], "host": h["name"]} for h in want_hosts]
        if got != want:
            raise SystemExit(f"case {i}: host labels differ\n got {got!r}\nwant {want!r}")
        got = labels("rm_host_repo_status")
        want = [{"host_id": h["id"], "host": h["name"], "status": h["repo_status"] or "unknown"} for h in want_hosts]
        if got != want:
            raise SystemExit(f"case {i}: repo_status labels differ")
        got = labels("rm_build_info")
        want = [{"version": spec["build_version"], "commit": spec["build_commit"], "go_version": spec["go_version"]}]
        if got != want:
            raise SystemExit(f"case {i}: build_info differs\n got {got!r}\nwant {want!r}")
        pairs = sorted({(j["kind"].encode(), j["status"].encode()) for j in spec["jobs"]})
        got = [(s.labels["kind"], s.labels["status"]) for s in samples if s.name == "rm_job_duration_seconds_count"]
        want = [(k.decode(), st.decode()) for k, st in pairs]
        if got != want:
            raise SystemExit(f"case {i}: histogram labels differ\n got {got!r}\nwant {want!r}")
        for s in samples:
            if s.name == "rm_job_duration_seconds_count":
                n_jobs = sum(1 for j in spec["jobs"] if (j["kind"], j["status"]) == (s.labels["kind"], s.labels["status"]))
                if s.value != n_jobs:
                    raise SystemExit(f"case {i}: count {s.value} != {n_jobs}")
    print(f"parseback: {n} passed, 0 failed")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 300)
    elif len(sys.argv) >= 3 and sys.argv[1] == "parseback":
        parseback(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    else:
        raise SystemExit(__doc__)
