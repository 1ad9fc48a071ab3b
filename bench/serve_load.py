#!/usr/bin/env python3
"""Load and abuse figures for `sccello serve` (docs/serve.md, issue: serve reliability).

Starts `sccello serve` on a loopback port over STORE (which must hold releases, a dataset and an
index), then:
  1. CLIENTS concurrent clients x SECONDS of mixed queries (term, ancestors, term search, PPR row,
     datasets, search by corpus cell): requests/s, p50/p99 latency, errors, server RSS over time;
  2. halfway through, `sccello cells import` writes a new dataset into the same store, then
     POST /admin/reload: the import must succeed, no request may fail, the dataset must appear;
  3. MALFORMED bad requests (bad JSON, wrong types, huge numbers, invalid UTF-8, unknown ids,
     oversized bodies, slow senders, garbage request lines): every one must get a 4xx, and the
     server must still answer afterwards.
Loopback only, bounded in count and time. Standard library only (Debian's python3).

usage: bench/serve_load.py --sccello build/cli/sccello --store STORE --import-file F.h5ad
       [--clients 16] [--seconds 60] [--malformed 1000]
"""
import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def request(port, method, path, body=None, ctype="application/json", timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": ctype} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def wait_ready(port, proc, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"serve exited early with {proc.returncode}")
        try:
            if request(port, "GET", "/v1/health", timeout=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("serve did not answer /v1/health")


class Mixed:
    """The query mix: ids drawn from what the store holds."""

    def __init__(self, port):
        self.port = port
        health = json.loads(request(port, "GET", "/v1/health")[1])
        self.index = health["indexes"][0]
        self.terms = ["CL:0000236", "CL:0000624", "CL:0000625", "CL:0000084", "CL:0000623", "CL:0000576",
                      "CL:0000798", "CL:0000815", "CL:0000940", "CL:0000232"]
        self.words = ["T cell", "B cell", "monocyte", "natural killer", "dendritic", "alpha-beta", "memory"]
        ds = json.loads(request(port, "GET", "/v1/datasets")[1])[0]
        self.dataset, self.cells = ds["dataset"], ds["cells"]

    def one(self, rnd):
        kind = rnd.randrange(6)
        t = rnd.choice(self.terms)
        if kind == 0:
            return kind, ("GET", f"/v1/terms/{t}", None)
        if kind == 1:
            return kind, ("GET", f"/v1/terms/{t}/ancestors", None)
        if kind == 2:
            return kind, ("GET", "/v1/terms?q=" + rnd.choice(self.words).replace(" ", "%20"), None)
        if kind == 3:
            return kind, ("GET", f"/v1/targets/row?term={t}&top=10", None)
        if kind == 4:
            return kind, ("GET", "/v1/datasets", None)
        body = json.dumps({"index": self.index, "cell": f"{self.dataset}/{rnd.randrange(self.cells)}", "k": 20})
        return kind, ("POST", "/v1/search", body)


def load(port, mix, clients, seconds, results):
    stop = time.time() + seconds

    def client(seed):
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.time() < stop:
            kind, (method, path, body) = mix.one(rnd)
            start = time.perf_counter()
            try:
                headers = {"Content-Type": "application/json"} if body else {}
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            results.append((kind, time.perf_counter() - start, ok))
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    return threads


def malformed_cases(index):
    """(name, raw bytes to send) — each must be answered 4xx."""
    def req(method, path, body=b"", ctype="application/json", extra=""):
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
        return head.encode("latin-1") + body

    cases = [
        ("bad json", req("POST", "/v1/search", b"{not json")),
        ("json array", req("POST", "/v1/search", b"[1,2,3]")),
        ("k string", req("POST", "/v1/search", json.dumps({"cell": "a/b", "k": "9"}).encode())),
        ("k huge", req("POST", "/v1/search", b'{"cell": "a/b", "k": 1e308}')),
        ("k negative", req("POST", "/v1/search", b'{"cell": "a/b", "k": -5}')),
        ("k bignum", req("POST", "/v1/search", b'{"cell": "a/b", "k": 123456789012345678901234567890}')),
        ("cell type", req("POST", "/v1/search", b'{"cell": [1]}')),
        ("unknown index", req("POST", "/v1/search", b'{"index": "nope", "cell": "a/b"}')),
        ("unknown cell", req("POST", "/v1/search", json.dumps({"index": index, "cell": "nope/zzz"}).encode())),
        ("embeddings dims", req("POST", "/v1/search", b'{"embeddings": [[1,2,3]]}')),
        ("embeddings nested", req("POST", "/v1/search", b'{"embeddings": [[[1]]]}')),
        ("deep json", req("POST", "/v1/search", b"[" * 5000 + b"]" * 5000)),
        ("invalid utf8 body", req("POST", "/v1/search", b'{"cell": "\xff\xfe/\xc3"}')),
        ("invalid utf8 term", req("GET", "/v1/terms/CL:\xff\xfe")),
        ("unknown term", req("GET", "/v1/terms/CL:9999999")),
        ("bad term id", req("GET", "/v1/terms/..%2F..%2Fetc%2Fpasswd")),
        ("traversal", req("GET", "/v1/cells/../../etc/passwd")),
        ("limit huge", req("GET", "/v1/terms?q=cell&limit=99999999999999999999999")),
        ("limit text", req("GET", "/v1/terms?q=cell&limit=abc")),
        ("unknown release", req("GET", "/v1/terms/CL:0000236?release=1900")),
        ("lca one", req("GET", "/v1/lca?terms=CL:0000236")),
        ("targets spec", req("GET", "/v1/targets/row?term=CL:0000236&target=ppr:alpha=banana")),
        ("unknown endpoint", req("GET", "/v1/nothing")),
        ("wrong method", req("DELETE", "/v1/terms")),
        ("admin get", req("GET", "/admin/reload")),
        ("fake upload", req("POST", "/v1/search?index=" + index, b"\x89HDF\r\n\x1a\n" + b"\0" * 64, "application/x-hdf5")),
        ("oversized", req("POST", "/v1/search", b" " * (3 << 20))),
        ("garbage line", b"\x00\x01\x02 garbage\r\n\r\n"),
        ("no version", b"GET /v1/health\r\n\r\n"),
        ("huge header", b"GET /v1/health HTTP/1.1\r\nX: " + b"a" * 100000 + b"\r\n\r\n"),
    ]
    return cases


def send_raw(port, payload, slow=False, timeout=15):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if slow:  # a slow sender: half a request, then silence beyond the server's read timeout
            s.sendall(payload[: len(payload) // 2])
            time.sleep(3.5)
        else:
            s.sendall(payload)
        data = b""
        while b"\r\n" not in data:  # the status line is all we judge; keep-alive may hold the socket
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        data = data if "data" in locals() else b""
    finally:
        s.close()
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else None


def abuse(port, index, count):
    cases = malformed_cases(index)
    # A server without the model (sccello-tools, e.g. the ASan build) cannot embed uploads: 501.
    uploads = json.loads(request(port, "GET", "/v1/indexes")[1])[0].get("uploads", False)
    statuses, bad = {}, []
    slow_every = 50
    for i in range(count):
        name, payload = cases[i % len(cases)]
        slow = i % slow_every == slow_every - 1
        if slow:
            name = "slow sender"
            payload = b'POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"cell": "x'
        status = send_raw(port, payload, slow=slow)
        statuses[status] = statuses.get(status, 0) + 1
        # A slow sender may simply be disconnected (None): that is the timeout doing its job.
        if name == "fake upload" and not uploads and status == 501:
            continue
        if not ((status is not None and 400 <= status < 500) or (slow and status in (None, 408))):
            bad.append((name, status))
    return statuses, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sccello", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--import-file", required=True, help="an .h5ad imported into the store during the load")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--malformed", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1, help="serve --threads (per request)")
    a = ap.parse_args()

    port = free_port()
    serve = subprocess.Popen([a.sccello, "--store", a.store, "--threads", str(a.threads), "serve", "--port", str(port),
                              "--connections", str(a.clients), "--max-body-mb", "2", "--read-timeout", "2"],
                             stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(port, serve)
        mix = Mixed(port)
        rss = [(0.0, rss_mb(serve.pid))]
        results = []
        start = time.time()
        threads = load(port, mix, a.clients, a.seconds, results)
        imported = None
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            rss.append((time.time() - start, rss_mb(serve.pid)))
            if imported is None and time.time() - start > a.seconds / 2:
                name = "live_import_%d" % os.getpid()
                t0 = time.time()
                imp = subprocess.run([a.sccello, "--store", a.store, "--threads", "1", "cells", "import", a.import_file,
                                      "--dataset", name], capture_output=True, text=True)
                status, _ = request(port, "POST", "/admin/reload")
                listed = [d["dataset"] for d in json.loads(request(port, "GET", "/v1/datasets")[1])]
                imported = (name, imp.returncode, time.time() - t0, status, name in listed, imp.stderr[-300:])
        for t in threads:
            t.join()
        elapsed = time.time() - start
        lat = sorted(r[1] for r in results)
        errors = sum(1 for r in results if not r[2])
        print(f"load: {a.clients} clients x {a.seconds:.0f} s: {len(results)} requests, {len(results) / elapsed:.0f} req/s, "
              f"p50 {1000 * statistics.median(lat):.1f} ms, p99 {1000 * lat[int(0.99 * (len(lat) - 1))]:.1f} ms, "
              f"errors {errors}")
        kinds = ["term", "ancestors", "term search", "PPR row", "datasets", "search by cell"]
        for k, label in enumerate(kinds):
            ks = sorted(r[1] for r in results if r[0] == k)
            if ks:
                print(f"  {label:15s} {len(ks):7d} requests, p50 {1000 * statistics.median(ks):6.1f} ms, "
                      f"p99 {1000 * ks[int(0.99 * (len(ks) - 1))]:6.1f} ms")
        print("rss MB: " + ", ".join(f"{t:.0f}s {m:.0f}" for t, m in rss[:: max(1, len(rss) // 8)]) +
              f", end {rss[-1][1]:.0f}")
        if imported:
            name, rc, secs, status, listed, err = imported
            print(f"import during load: exit {rc} in {secs:.1f} s, reload {status}, new dataset listed: {listed}")
            if rc != 0:
                print("  import stderr: " + err)
            subprocess.run([a.sccello, "--store", a.store, "cells", "delete", name], capture_output=True)
        statuses, bad = abuse(port, mix.index, a.malformed)
        alive = request(port, "GET", "/v1/health")[0] == 200
        print(f"malformed: {a.malformed} requests, statuses {dict(sorted(statuses.items(), key=lambda x: str(x[0])))}, "
              f"not 4xx: {len(bad)} {bad[:5]}, server alive after: {alive}, exit code so far: {serve.poll()}")
        failed = errors or bad or not alive or (imported and (imported[1] != 0 or not imported[4]))
        return 1 if failed else 0
    finally:
        serve.terminate()
        try:
            serve.wait(10)
        except subprocess.TimeoutExpired:
            serve.kill()


if __name__ == "__main__":
    sys.exit(main())
