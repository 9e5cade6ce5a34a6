#!/usr/bin/env python3
"""Prints the BENCHMARKS.md tables from one `cargo bench --bench compare` run
(target/criterion/<group>/<id>/new/estimates.json): medians, each figure as a
ratio to the baseline measured in the same run, and the issue's targets."""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "criterion")


def median_ns(group, bench_id):
    path = os.path.join(ROOT, group, *bench_id.split("/"), "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.2f} ns"


def main():
    out = []
    ok = True

    def target(name, value, limit, cmp):
        nonlocal ok
        met = value <= limit if cmp == "<=" else value >= limit
        ok &= met
        out.append(f"| {name} | {value:.2f} | {cmp} {limit} | {'met' if met else '**missed**'} |")

    floor = median_ns("observe", "floor")
    ids = ["floor", "floor_owned", "floor_owned_sum", "floor_owned_exact", "floor_lookup8", "floor_lookup_owned8",
           "floor_lookup_wide256", "rm_metrics_labelled", "rm_metrics_handle", "rm_metrics_owned8",
           "rm_metrics_wide256", "family_labelled", "family_handle", "family_fixed8", "family_owned8", "family_wide256",
           "prometheus_wide256", "prometheus_client_wide256",
           "family_wide2048", "prometheus_wide2048", "prometheus_client_wide2048",
           "prometheus_labelled", "prometheus_handle",
           "prometheus_client_labelled", "prometheus_client_handle", "metrics_labelled", "reference_design",
           "rm_metrics_exemplar", "rm_metrics_exemplar_trace", "rm_metrics_exemplar_reused",
           "rm_metrics_exemplar_labelled", "floor_exemplar",
           "prometheus_client_exemplar", "rm_metrics_native", "rm_metrics_native_f64",
           "metrics_facade_rm_labelled", "metrics_facade_rm_handle", "metrics_facade_floor"]
    out += ["### observe (one observation per iteration)", "", "| id | median | × floor |", "| --- | ---: | ---: |"]
    obs = {i: median_ns("observe", i) for i in ids}
    for i in ids:
        out.append(f"| `{i}` | {fmt_ns(obs[i])} | {obs[i] / floor:.2f} |")

    out += ["", "### contended (T threads × 10,000 observations into one series per iteration)", "",
            "| id | median per iteration | observations/s | × own 1-thread throughput |", "| --- | ---: | ---: | ---: |"]
    thr = {}
    for lib in ["floor", "rm_metrics", "prometheus"]:
        for t in [1, 2, 8, 16]:
            ns = median_ns("contended", f"{lib}/{t}")
            thr[(lib, t)] = t * 10_000 / (ns / 1e9)
    for lib in ["floor", "rm_metrics", "prometheus"]:
        for t in [1, 2, 8, 16]:
            ns = median_ns("contended", f"{lib}/{t}")
            out.append(f"| `{lib}/{t}` | {fmt_ns(ns)} | {thr[(lib, t)] / 1e6:.1f} M | {thr[(lib, t)] / thr[(lib, 1)]:.2f} |")

    out += ["", "### render (N hosts, 7 per-host families, 24 histogram rows; text, `rm_metrics_om` OpenMetrics with an exemplar on every non-empty bucket, `rm_metrics_protobuf` the protobuf exposition)", "",
            "| id | median | × prometheus_client at the same N |", "| --- | ---: | ---: |"]
    ren = {}
    for n in [100, 1000, 10000]:
        for lib in ["rm_metrics", "rm_metrics_changed", "rm_metrics_om", "rm_metrics_protobuf", "copy_floor", "prometheus_client"]:
            ren[(lib, n)] = median_ns("render", f"{lib}/{n}")
    ren[("prometheus", 1000)] = median_ns("render", "prometheus/1000")
    for lib in ["rm_metrics", "copy_floor"]:
        ren[(lib, 100000)] = median_ns("render", f"{lib}/100000")
    for n in [100, 1000, 10000]:
        for lib in ["rm_metrics", "rm_metrics_changed", "rm_metrics_om", "rm_metrics_protobuf", "copy_floor", "prometheus_client", "prometheus"]:
            if (lib, n) in ren:
                out.append(f"| `{lib}/{n}` | {fmt_ns(ren[(lib, n)])} | {ren[(lib, n)] / ren[('prometheus_client', n)]:.3f} |")
    for lib in ["rm_metrics", "copy_floor"]:
        out.append(f"| `{lib}/100000` | {fmt_ns(ren[(lib, 100000)])} | (peers not run at this size) |")

    out += ["", "### ladder (one histogram handle, one observation per iteration, values spread over N bounds)", "",
            "| N | rm_metrics | prometheus | prometheus_client | prometheus / rm | prometheus_client / rm |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in [11, 25, 40, 63]:
        lad = {lib: median_ns("ladder", f"{lib}/{n}") for lib in ["rm_metrics", "prometheus", "prometheus_client"]}
        rm = lad["rm_metrics"]
        out.append(f"| {n} | {fmt_ns(rm)} | {fmt_ns(lad['prometheus'])} | {fmt_ns(lad['prometheus_client'])} | "
                   f"{lad['prometheus'] / rm:.2f} | {lad['prometheus_client'] / rm:.2f} |")

    out += ["", "### add (a fresh counter family, then N new label values, each counted once)", "",
            "| id | median | per series | × prometheus_client at the same N |", "| --- | ---: | ---: | ---: |"]
    for n in [1000, 10000]:
        adds = {lib: median_ns("add", f"{lib}/{n}") for lib in ["rm_metrics", "prometheus_client", "prometheus"]}
        for lib, ns in adds.items():
            out.append(f"| `{lib}/{n}` | {fmt_ns(ns)} | {fmt_ns(ns / n)} | {ns / adds['prometheus_client']:.2f} |")

    out += ["", "### remove (a counter family of 10,000 series, then every tenth removed one by one)", "",
            "| id | median | per removal | × prometheus_client |", "| --- | ---: | ---: | ---: |"]
    removes = {lib: median_ns("remove", f"{lib}/10000") for lib in ["rm_metrics", "prometheus_client", "prometheus"]}
    for lib, ns in removes.items():
        out.append(f"| `{lib}/10000` | {fmt_ns(ns)} | {fmt_ns(ns / 1000)} | {ns / removes['prometheus_client']:.2f} |")

    shapes = ["counters_fixed", "counters_high", "histograms_fixed", "histograms_high"]
    out += ["", "### measured_workloads (2 threads × 40,000 operations, then one encode, per iteration)", "",
            "| shape | rm_metrics | rm_metrics_typed | measured | prometheus_client | measured / rm | prometheus_client / rm |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    work = {}
    for shape in shapes:
        for lib in ["rm_metrics", "rm_metrics_typed", "measured", "prometheus_client", "floor_map"]:
            try:
                # criterion files "a/b" function ids as "a_b".
                work[(shape, lib)] = median_ns("measured_workloads", f"{shape}_{lib}")
            except FileNotFoundError:
                pass
        typed = fmt_ns(work[(shape, "rm_metrics_typed")]) if (shape, "rm_metrics_typed") in work else "–"
        rm = work[(shape, "rm_metrics")]
        out.append(f"| `{shape}` | {fmt_ns(rm)} | {typed} | {fmt_ns(work[(shape, 'measured')])} | "
                   f"{fmt_ns(work[(shape, 'prometheus_client')])} | {work[(shape, 'measured')] / rm:.2f} | "
                   f"{work[(shape, 'prometheus_client')] / rm:.2f} |")

    out += ["", "`floor_map` (the high-cardinality shapes): each thread looks its label set up in a hash map "
            "of its own (hashbrown, foldhash) and writes words only it writes; no encode.", "",
            "| shape | floor_map | rm_metrics / floor_map | prometheus_client / floor_map |",
            "| --- | ---: | ---: | ---: |"]
    for shape in shapes:
        if (shape, "floor_map") in work:
            fm = work[(shape, "floor_map")]
            out.append(f"| `{shape}` | {fmt_ns(fm)} | {work[(shape, 'rm_metrics')] / fm:.2f} | "
                       f"{work[(shape, 'prometheus_client')] / fm:.2f} |")

    floor_owned = obs["floor_owned"]
    out += ["", "### targets of the general core (issue 10)", "", "| target | measured | required | |", "| --- | ---: | ---: | --- |"]
    target("`rm_metrics_wide256` / `floor`", obs["rm_metrics_wide256"] / floor, 3, "<=")
    target("`prometheus_wide256` / `rm_metrics_wide256`", obs["prometheus_wide256"] / obs["rm_metrics_wide256"], 3, ">=")
    target("`rm_metrics_owned8` / `floor`", obs["rm_metrics_owned8"] / floor, 2, "<=")
    target("`rm_metrics_labelled` / `floor`", obs["rm_metrics_labelled"] / floor, 1.5, "<=")
    target("`rm_metrics_handle` / `floor_owned`", obs["rm_metrics_handle"] / floor_owned, 1.3, "<=")
    for shape in shapes:
        rm = work[(shape, "rm_metrics")]
        target(f"`{shape}`: measured / rm_metrics", work[(shape, "measured")] / rm, 1.5, ">=")
        target(f"`{shape}`: prometheus_client / rm_metrics", work[(shape, "prometheus_client")] / rm, 4, ">=")
    target("render 1000: `prometheus_client` / `rm_metrics`", ren[("prometheus_client", 1000)] / ren[("rm_metrics", 1000)], 7, ">=")
    target("render 1000: `rm_metrics` / `copy_floor`", ren[("rm_metrics", 1000)] / ren[("copy_floor", 1000)], 2.5, "<=")
    out.append(f"| (render 1000, every value changed: `prometheus_client` / `rm_metrics_changed`) | {ren[('prometheus_client', 1000)] / ren[('rm_metrics_changed', 1000)]:.2f} | | |")
    out.append(f"| (render 1000, every value changed: `rm_metrics_changed` / `copy_floor`) | {ren[('rm_metrics_changed', 1000)] / ren[('copy_floor', 1000)]:.2f} | | |")
    out += ["", "What the floors of the observe targets cost, in the same run (see \"Why the targets are "
            "still missed\" below):", "", "| ratio | measured |", "| --- | ---: |"]
    for name, value in [
        ("`floor_owned_sum` / `floor_owned` (a single writer's sum too)", obs["floor_owned_sum"] / floor_owned),
        ("`rm_metrics_handle` / `floor_owned_sum`", obs["rm_metrics_handle"] / obs["floor_owned_sum"]),
        ("`floor_owned_exact` / `floor_owned` (the words that make reads exact too)",
         obs["floor_owned_exact"] / floor_owned),
        ("`rm_metrics_handle` / `floor_owned_exact`", obs["rm_metrics_handle"] / obs["floor_owned_exact"]),
        ("`family_handle` / `floor_owned_exact`", obs["family_handle"] / obs["floor_owned_exact"]),
        ("`floor_lookup8` / `floor` (one hash-map lookup of the pair, then `floor`)", obs["floor_lookup8"] / floor),
        ("`family_fixed8` / `floor` (the pair as typed labels: no hashing)", obs["family_fixed8"] / floor),
        ("`family_labelled` / `family_fixed8`", obs["family_labelled"] / obs["family_fixed8"]),
        ("`rm_metrics_labelled` / `floor_lookup8`", obs["rm_metrics_labelled"] / obs["floor_lookup8"]),
        ("`floor_lookup_owned8` / `floor`", obs["floor_lookup_owned8"] / floor),
        ("`rm_metrics_owned8` / `floor_lookup_owned8`", obs["rm_metrics_owned8"] / obs["floor_lookup_owned8"]),
        ("`floor_lookup_wide256` / `floor`", obs["floor_lookup_wide256"] / floor),
        ("`rm_metrics_wide256` / `floor_lookup_wide256`", obs["rm_metrics_wide256"] / obs["floor_lookup_wide256"]),
        ("`prometheus_wide256` / `floor_lookup_wide256`", obs["prometheus_wide256"] / obs["floor_lookup_wide256"]),
    ] + [(f"`{shape}`: prometheus_client / floor_map", work[(shape, "prometheus_client")] / work[(shape, "floor_map")])
         for shape in shapes if (shape, "floor_map") in work]:
        out.append(f"| {name} | {value:.2f} |")
    out += ["", "| target | measured | required | |", "| --- | ---: | ---: | --- |"]
    out.append(f"| (`prometheus_wide2048` / `family_wide2048`) | {obs['prometheus_wide2048'] / obs['family_wide2048']:.2f} | | |")
    out.append(f"| (`prometheus_client_wide2048` / `family_wide2048`) | {obs['prometheus_client_wide2048'] / obs['family_wide2048']:.2f} | | |")

    out += ["", "### targets of OpenMetrics and exemplars (issue 11)", "", "| target | measured | required | |", "| --- | ---: | ---: | --- |"]
    target("`rm_metrics_exemplar` / `floor`", obs["rm_metrics_exemplar"] / floor, 3, "<=")
    target("render 1000: `rm_metrics_om` / `rm_metrics`", ren[("rm_metrics_om", 1000)] / ren[("rm_metrics", 1000)], 1.2, "<=")
    out.append(f"| (`rm_metrics_exemplar_trace` / `floor`) | {obs['rm_metrics_exemplar_trace'] / floor:.2f} | | |")
    out.append(f"| (`rm_metrics_exemplar_reused` / `floor`) | {obs['rm_metrics_exemplar_reused'] / floor:.2f} | | |")
    out.append(f"| (`floor_exemplar` / `floor`: the bare multi-writer protocol) | {obs['floor_exemplar'] / floor:.2f} | | |")
    out.append(f"| (`prometheus_client_exemplar` / `rm_metrics_exemplar`) | {obs['prometheus_client_exemplar'] / obs['rm_metrics_exemplar']:.2f} | | |")
    out.append(f"| (`prometheus_client_exemplar` / `rm_metrics_exemplar_trace`) | {obs['prometheus_client_exemplar'] / obs['rm_metrics_exemplar_trace']:.2f} | | |")

    out += ["", "### targets of the metrics facade recorder (issue 13)", "", "| target | measured | required | |", "| --- | ---: | ---: | --- |"]
    target("`metrics_labelled` / `metrics_facade_rm_labelled`", obs["metrics_labelled"] / obs["metrics_facade_rm_labelled"], 8, ">=")
    target("`metrics_facade_rm_labelled` / `floor`", obs["metrics_facade_rm_labelled"] / floor, 3, "<=")
    target("`metrics_facade_rm_handle` / `floor`", obs["metrics_facade_rm_handle"] / floor, 1.5, "<=")
    out += ["", "What the macro call alone costs any recorder (`metrics_facade_floor`, one shared counter, no lookup): "
            f"{obs['metrics_facade_floor']:.1f} ns = {obs['metrics_facade_floor'] / floor:.2f}× `floor`; "
            f"rm-metrics adds {obs['metrics_facade_rm_labelled'] - obs['metrics_facade_floor']:.1f} ns to it, "
            f"metrics-exporter-prometheus {obs['metrics_labelled'] - obs['metrics_facade_floor']:.1f} ns."]

    out += ["", "### targets of native histograms and the protobuf exposition (issue 14)", "", "| target | measured | required | |", "| --- | ---: | ---: | --- |"]
    target("`rm_metrics_native` / `rm_metrics_handle`", obs["rm_metrics_native"] / obs["rm_metrics_handle"], 1.5, "<=")
    target("render 1000: `rm_metrics_protobuf` / `rm_metrics`", ren[("rm_metrics_protobuf", 1000)] / ren[("rm_metrics", 1000)], 1.5, "<=")
    out.append(f"| (`rm_metrics_native_f64` / `rm_metrics_handle`: a `NativeHistogram` family fed `as_secs_f64()`) | {obs['rm_metrics_native_f64'] / obs['rm_metrics_handle']:.2f} | | |")

    out += ["", "### earlier targets", "", "| target | measured | required | |", "| --- | ---: | ---: | --- |"]
    target("`rm_metrics_labelled` / `floor`", obs["rm_metrics_labelled"] / floor, 2.5, "<=")
    target("`prometheus_labelled` / `rm_metrics_labelled`", obs["prometheus_labelled"] / obs["rm_metrics_labelled"], 4, ">=")
    target("`rm_metrics_handle` / `floor`", obs["rm_metrics_handle"] / floor, 1.5, "<=")
    target("contended: `rm_metrics/2` / `rm_metrics/1` throughput", thr[("rm_metrics", 2)] / thr[("rm_metrics", 1)], 1.8, ">=")
    out.append(f"| (machine baseline: `floor/2` / `floor/1` throughput) | {thr[('floor', 2)] / thr[('floor', 1)]:.2f} | | |")
    target("render 1000: `prometheus_client` / `rm_metrics`", ren[("prometheus_client", 1000)] / ren[("rm_metrics", 1000)], 5, ">=")
    target("render linear: `rm_metrics/10000` / `rm_metrics/1000`", ren[("rm_metrics", 10000)] / ren[("rm_metrics", 1000)], 11, "<=")
    out.append(f"| (machine baseline: `copy_floor/10000` / `copy_floor/1000`) | {ren[('copy_floor', 10000)] / ren[('copy_floor', 1000)]:.2f} | | |")
    net = (ren[("rm_metrics", 10000)] - ren[("copy_floor", 10000)]) / (ren[("rm_metrics", 1000)] - ren[("copy_floor", 1000)])
    out.append(f"| (rm_metrics net of its copy floor, 10000 / 1000) | {net:.2f} | | |")
    out.append(f"| scale: `rm_metrics/100000` / `copy_floor/100000` | {ren[('rm_metrics', 100000)] / ren[('copy_floor', 100000)]:.2f} | | |")
    print("\n".join(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
