"""Kernel latency through jupyter_client: start to first kernel_info_reply, trivial cell round trip
(execute_request sent to status idle received), completion, resident memory after start.

usage: /usr/bin/python3 bench/kernel-latency.py [KERNEL_NAME ...]   (default: gradbook)
Kernels are looked up in the usual Jupyter paths; `node bin/gradbook.js install --user` first.
"""
import json
import os
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


def start(name):
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel(cwd=tempfile.mkdtemp())
    kc = km.client()
    kc.start_channels()
    while True:
        try:
            kc.kernel_info(reply=True, timeout=0.02)
            break
        except Exception:
            pass
    return km, kc, time.perf_counter() - t0


def round_trip(kc, code):
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        m = kc.get_iopub_msg(timeout=10)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    elapsed = time.perf_counter() - t0
    while kc.get_shell_msg(timeout=10)["parent_header"].get("msg_id") != msg_id:
        pass
    return elapsed


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def bench(name):
    starts = []
    for _ in range(3):
        km, kc, s = start(name)
        starts.append(s)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    km, kc, _ = start(name)
    time.sleep(1.0)
    pid = km.provisioner.process.pid if km.provisioner else None
    rss = rss_mb(pid) if pid else None
    for _ in range(30):
        round_trip(kc, "1")
    cells = [round_trip(kc, "1") for _ in range(300)]
    t0 = time.perf_counter()
    lines = round_trip(kc, "for (let i = 0; i < 10000; i++) console.log(i)" if name == "gradbook" else "for i in range(10000): print(i)")
    code = "const s = new Map<string, number>()" if name == "gradbook" else "s = dict()"
    round_trip(kc, code)
    comps = []
    for i in range(25):
        t0 = time.perf_counter()
        kc.complete("s.", 2, reply=True, timeout=30)
        comps.append(time.perf_counter() - t0)
    rss_after_completion = rss_mb(pid) if pid else None
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return {
        "kernel": name,
        "start_s_median": statistics.median(starts),
        "cell_p50_ms": 1000 * pct(cells, 0.5),
        "cell_p95_ms": 1000 * pct(cells, 0.95),
        "ten_thousand_lines_s": lines,
        "complete_p50_ms_after_warmup": 1000 * statistics.median(comps[5:]),
        "rss_after_start_mb": rss,
        "rss_after_completions_mb": rss_after_completion,
    }


for name in sys.argv[1:] or ["gradbook"]:
    print(json.dumps(bench(name)))
    sys.stdout.flush()
os._exit(0)
