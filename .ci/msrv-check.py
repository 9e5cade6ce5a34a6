#!/usr/bin/env python3
"""MSRV check without a second toolchain (none can be downloaded here).

The crate's rust-version must be at least the rust-version of every locked
package it builds with any combination of its features, on this platform
(`cargo tree -e normal --all-features`; loom and the dev-, bench- and
fuzz-only crates are not part of what a user builds). Our own code is held
to the same version by clippy's incompatible_msrv lint, which reads
rust-version from Cargo.toml and runs under `clippy -D warnings` in CI.
"""
import json
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in v.split(".")) + (0,) * (3 - len(v.split(".")))


def main():
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"], text=True))
    ours = next(p for p in meta["packages"] if p["name"] == "rm-metrics")
    tree = subprocess.check_output(
        ["cargo", "tree", "-p", "rm-metrics", "-e", "normal", "--all-features", "--locked",
         "--prefix", "none", "--format", "{p}"], text=True)
    built = {line.split(" (")[0].strip() for line in tree.splitlines() if line.strip()}
    msrv = version(ours["rust_version"])
    newer = [(p["name"], p["version"], p["rust_version"]) for p in meta["packages"]
             if f"{p['name']} v{p['version']}" in built and p.get("rust_version")
             and version(p["rust_version"]) > msrv]
    highest = max((version(p["rust_version"]), p["name"]) for p in meta["packages"]
                  if f"{p['name']} v{p['version']}" in built and p.get("rust_version"))
    print(f"msrv: rust-version {ours['rust_version']}; {len(built)} locked packages built with all "
          f"features; the highest rust-version among them is {'.'.join(map(str, highest[0]))} ({highest[1]})")
    for name, v, rv in newer:
        print(f"msrv: {name} {v} needs Rust {rv}, newer than ours")
    sys.exit(1 if newer else 0)


if __name__ == "__main__":
    main()
