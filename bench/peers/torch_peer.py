"""PyTorch's (and numpy's) side of `npm run bench`, as one JSON line of raw samples.

Same keys, units and protocol as bench/runtime-gradbook.ts: a warm-up call, then BENCH_REPS
repetitions (stopping early past BENCH_BUDGET_S seconds), each one rate. Run by bench/run.js with
Debian's interpreter (/usr/bin/python3, which has python3-torch), OMP_WAIT_POLICY=passive and two
threads: the issue's fair comparison, since spin-waiting OpenMP collapses on a shared 2-core box.
"""
import json
import os
import re
import sys
import time

import numpy as np

WHICH = sys.argv[1] if len(sys.argv) > 1 else "torch"  # "torch" or "numpy"
if WHICH == "torch":
    import torch

    torch.set_num_threads(2)
REPS = int(os.environ.get("BENCH_REPS", "3"))
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "8"))
ONLY = re.compile(os.environ["BENCH_ONLY"]) if os.environ.get("BENCH_ONLY") else None
WARM_EPOCHS = int(os.environ.get("BENCH_WARM_EPOCHS", "10"))
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
samples = {}
spent = {}


def want(key):
    return key not in SKIP and (ONLY is None or ONLY.search(key) is not None)


def bench(key):
    """Runs the decorated benchmark at once if it is wanted, noting the seconds it took."""

    def run(fn):
        if want(key):
            t0 = time.perf_counter()
            fn()
            spent[key] = time.perf_counter() - t0

    return run


def time_calls(fn, inner):
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    out = [first] if inner == 1 and first > 0.5 else []
    # another repetition only if it should end within the budget
    while len(out) < REPS and (not out or time.perf_counter() - start + out[-1] * inner < BUDGET_S):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - t0) / inner)
    return out


def calls_for(fn, seconds, warm=None):
    # unmeasured warm-up for a quarter of the budget unless given, as every peer does
    # (runtime-gradbook.ts)
    warm = seconds / 4 if warm is None else warm
    fn()
    w0 = time.perf_counter()
    while time.perf_counter() - w0 < warm:
        fn()
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min(0.05, seconds / 4):
        fn()
        n += 1
    return max(1, round(seconds / ((time.perf_counter() - t0) / n)))


def record(key, per_call, work):
    samples[key] = [work / s for s in per_call]


def run_torch():
    for n in (1024, 2048):
        for form in ("AB", "AtB", "ABt"):
            key = f"matmul_{n}_{form}"

            @bench(key)
            def _():
                a = torch.randn(n, n)
                b = torch.randn(n, n)
                left = a.t() if form == "AtB" else a
                right = b.t() if form == "ABt" else b
                record(key, time_calls(lambda: torch.matmul(left, right), 1), 2 * n**3 / 1e9)

    @bench("add4_graph_us")
    def _():
        a = torch.randn(4, requires_grad=True)
        b = torch.randn(4, requires_grad=True)

        def add():
            return a + b

        samples["add4_graph_us"] = [s * 1e6 for s in time_calls(add, calls_for(add, 0.25))]

    n = 10_000_000

    @bench("add_1e7_gbs")
    def _():
        a = torch.rand(n)
        b = torch.rand(n)
        add = lambda: torch.add(a, b)  # noqa: E731
        record("add_1e7_gbs", time_calls(add, calls_for(add, 0.3)), 12 * n / 1e9)

    @bench("sum_1e7_gbs")
    def _():
        a = torch.rand(n)
        s = lambda: a.sum().item()  # noqa: E731
        record("sum_1e7_gbs", time_calls(s, calls_for(s, 0.3)), 4 * n / 1e9)

    @bench("mlp_steps")
    def _():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(128, 784)
        y = torch.randint(0, 10, (128,))

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        # the same warm-up as gradbook's MLP step (MLP_WARM_S in runtime-gradbook.ts)
        samples["mlp_steps"] = [1 / s for s in time_calls(step, calls_for(step, 0.4, 2.0))]

    # one epoch on digits: test/train-digits.test.ts's split (gradbook's Generator is MT19937
    # seeded as numpy's legacy RandomState, with the same 53-bit doubles), /16, standardisation
    # and models; batch 64, shuffled; samples per second
    def digits_train():
        import gzip

        with gzip.open(os.path.join(os.path.dirname(__file__), "..", "..", "data", "digits.csv.gz"), "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64)
        n = table.shape[0]
        rng = np.random.RandomState(2024)
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = int(rng.random_sample() * (i + 1))
            p[i], p[j] = p[j], p[i]
        train = p[: round(n * 0.8)]
        x = torch.tensor(table[train, :64], dtype=torch.float32) / 16
        y = torch.tensor(table[train, 64], dtype=torch.int64)
        return x, y

    def epoch_bench(key, make_model, make_opt, prep):
        @bench(key)
        def _():
            torch.manual_seed(0)
            x, y = digits_train()
            x = prep(x)
            model = make_model()
            opt = make_opt(model)
            g = torch.Generator().manual_seed(0)
            loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True, generator=g)
            last = [0.0]

            def epoch():
                for xb, yb in loader:
                    opt.zero_grad()
                    loss = torch.nn.functional.cross_entropy(model(xb), yb)
                    loss.backward()
                    opt.step()
                    last[0] = loss.item()

            # the first epoch alone, then the steady state after WARM_EPOCHS (as runtime-gradbook.ts)
            t0 = time.perf_counter()
            epoch()
            samples[key + "_first"] = [x.shape[0] / (time.perf_counter() - t0)]
            for _ in range(1, WARM_EPOCHS):
                epoch()
            record(key, time_calls(epoch, 1), x.shape[0])

    def standardise_features(x):
        std = x.std(0)
        std[std == 0] = 1
        return (x - x.mean(0)) / std

    def standardise_all(x):
        return ((x - x.mean()) / x.std()).reshape(-1, 1, 8, 8)

    nn = torch.nn
    epoch_bench(
        "digits_mlp_epoch",
        lambda: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)),
        lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4),
        standardise_features,
    )
    epoch_bench(
        "digits_cnn_epoch",
        lambda: nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 2 * 2, 10),
        ),
        lambda m: torch.optim.Adam(m.parameters(), lr=2e-3),
        standardise_all,
    )


def run_numpy():
    n = 10_000_000
    rng = np.random.default_rng(0)

    @bench("add_1e7_gbs")
    def _():
        a = rng.random(n, dtype=np.float32)
        b = rng.random(n, dtype=np.float32)
        add = lambda: np.add(a, b)  # noqa: E731
        record("add_1e7_gbs", time_calls(add, calls_for(add, 0.3)), 12 * n / 1e9)

    @bench("sum_1e7_gbs")
    def _():
        a = rng.random(n, dtype=np.float32)
        s = lambda: float(a.sum())  # noqa: E731
        record("sum_1e7_gbs", time_calls(s, calls_for(s, 0.3)), 4 * n / 1e9)


def blas_library():
    """The BLAS the process actually mapped (Debian picks it through alternatives)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {os.path.basename(line.split()[-1]) for line in f if "blas" in line.lower()}
        blas = [lib for lib in libs if "openblas" in lib or "mkl" in lib] or sorted(libs)
        return ", ".join(blas) or "?"
    except OSError:
        return "?"


if WHICH == "numpy":
    run_numpy()
    meta = {"peer": "numpy", "version": np.__version__}
else:
    run_torch()
    meta = {
        "peer": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
    }
print(json.dumps({"meta": meta, "samples": samples, "spent": spent}))
