#!/usr/bin/env python3
"""The demo exporter under a connection flood, at the scale of the report.

Two runs of examples/serve on loopback:

1. trusted network 127.0.0.2/32: 300 connections from the untrusted
   127.0.0.3 dribble header bytes (one byte per connection every 100 ms)
   while 127.0.0.2 scrapes 10 times;
2. token only: 300 connections from 60 addresses (127.0.1.1-60, 5 each)
   dribble without a token while 127.0.0.2 scrapes 10 times with it.

Each of the 10 scrapes must answer 200 with the metrics in under 2 s.
Bounded in time; every process and socket is closed at the end.

usage: flood.py SERVE_BINARY
"""
import os
import socket
import subprocess
import sys
import threading
import time

TOKEN = "flood-test-token-0123456789"
PORT = 19185


def connect(src, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", PORT))
    return s


def scrape(src, headers=""):
    t = time.monotonic()
    s = connect(src)
    try:
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n".encode())
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    status = int(buf[9:12]) if buf.startswith(b"HTTP/1.1 ") else 0
    return status, b"rm_hosts_total" in buf, time.monotonic() - t


def run(name, env, flood_sources, scrape_headers):
    serve = sys.argv[1]
    proc = subprocess.Popen([serve, "--listen", f"127.0.0.1:{PORT}", "--hosts", "200"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    conns, stop = [], threading.Event()
    try:
        deadline = time.monotonic() + 10
        while True:  # wait for the listener
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        for src in flood_sources:
            try:
                c = connect(src)
                c.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
                conns.append(c)
            except OSError:
                pass  # refused at once: fine

        def dribble():
            end = time.monotonic() + 30
            while not stop.wait(0.1) and time.monotonic() < end:
                for c in conns:
                    try:
                        c.send(b"a")
                    except OSError:
                        pass
        t = threading.Thread(target=dribble)
        t.start()
        time.sleep(0.5)
        results = [scrape("127.0.0.2", scrape_headers) for _ in range(10)]
        stop.set()
        t.join()
        good = sum(1 for st, m, dt in results if st == 200 and m and dt < 2.0)
        worst = max(dt for _, _, dt in results)
        print(f"{name}: {len(flood_sources)} flooding connections attempted, "
              f"{good}/10 trusted scrapes answered 200 in under 2 s (slowest {worst * 1000:.0f} ms)")
        return good == 10
    finally:
        stop.set()
        for c in conns:
            c.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    base = {k: v for k, v in os.environ.items() if not k.startswith("RM_METRICS_")}
    results = [
        run("untrusted flood",
            dict(base, RM_METRICS_TRUSTED_CIDR="127.0.0.2/32"),
            ["127.0.0.3"] * 300, ""),
        run("unauthenticated flood",
            dict(base, RM_METRICS_TOKEN=TOKEN),
            [f"127.0.1.{1 + i // 5}" for i in range(300)],
            f"Authorization: Bearer {TOKEN}\r\n"),
    ]
    print(f"flood: {sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
