"""PyTorch's figures for the kernels of cpu-kernels.ts, as one JSON line.

Run with /usr/bin/python3 (Debian's python3-torch), OMP_WAIT_POLICY=passive and 2 threads: the
issue's fair comparison (spin-waiting OpenMP collapses on a shared 2-core box).
"""
import json
import os
import statistics
import sys
import time

import torch

torch.set_num_threads(2)
RUNS = int(os.environ.get("RUNS", "7"))


last_cpu = 0.0


def timed(fn, runs, inner=1):
    """Median wall seconds per call; last_cpu gets the median CPU seconds of all threads."""
    global last_cpu
    fn()
    ts = []
    cpus = []
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t0) / inner)
        cpus.append((time.process_time() - c0) / inner)
    last_cpu = statistics.median(cpus)
    return statistics.median(ts)


figures = {}
for name, n, dtype, form in [
    ("matmul_f32_1024", 1024, torch.float32, "AB"),
    ("matmul_f32_2048", 2048, torch.float32, "AB"),
    ("matmul_f32_1024_AtB", 1024, torch.float32, "AtB"),
    ("matmul_f32_1024_ABt", 1024, torch.float32, "ABt"),
    ("matmul_f32_2048_AtB", 2048, torch.float32, "AtB"),
    ("matmul_f32_2048_ABt", 2048, torch.float32, "ABt"),
    ("matmul_f64_1024", 1024, torch.float64, "AB"),
]:
    a = torch.rand(n, n, dtype=dtype) - 0.5
    b = torch.rand(n, n, dtype=dtype) - 0.5
    x = a.t() if form == "AtB" else a
    y = b.t() if form == "ABt" else b
    t = timed(lambda: torch.matmul(x, y), min(RUNS, 5) if n >= 2048 else RUNS)
    figures[name + "_gflops"] = 2 * n**3 / t / 1e9
    figures[name + "_gflop_per_cpu_s"] = 2 * n**3 / last_cpu / 1e9

for name, M, K, N, ta, tb in [
    ("mlp_x_w1", 128, 784, 256, False, False),
    ("mlp_xT_g1", 784, 128, 256, True, False),
    ("mlp_h_w2", 128, 256, 10, False, False),
    ("mlp_g2_w2T", 128, 10, 256, False, True),
]:
    x = torch.rand(K, M).t() if ta else torch.rand(M, K)
    y = torch.rand(N, K).t() if tb else torch.rand(K, N)
    figures[name + "_gflops"] = 2 * M * N * K / timed(lambda: torch.matmul(x, y), RUNS * 3, 20) / 1e9

n = 10_000_000
a = torch.rand(n)
b = torch.rand(n)
figures["add_1e7_f32_gbps"] = 12 * n / timed(lambda: torch.add(a, b), RUNS * 2) / 1e9
out = torch.empty(n)
figures["add_1e7_f32_preallocated_gbps"] = 12 * n / timed(lambda: torch.add(a, b, out=out), RUNS * 2) / 1e9
figures["sum_1e7_f32_gbps"] = 4 * n / timed(lambda: a.sum(), RUNS * 3) / 1e9
m = torch.rand(2500, 4000)
figures["sum_axis0_1e7_f32_gbps"] = 4 * n / timed(lambda: m.sum(0), RUNS * 2) / 1e9
figures["exp_1e7_f32_gbps"] = 8 * n / timed(lambda: torch.exp(a, out=out), RUNS) / 1e9
x = torch.rand(4)
y = torch.rand(4)
o = torch.empty(4)
figures["add_4_f32_us"] = timed(lambda: torch.add(x, y, out=o), 15, 20000) * 1e6
figures["add_4_f32_with_alloc_us"] = timed(lambda: torch.add(x, y), 15, 20000) * 1e6
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), **figures}))
sys.stdout.flush()
