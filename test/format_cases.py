#!/usr/bin/python3
"""Generate tensor-printing cases from real PyTorch for test/format.test.ts.

Run with an interpreter that has torch (Debian's is /usr/bin/python3):

    /usr/bin/python3 test/format_cases.py            # JSON to stdout
    /usr/bin/python3 test/format_cases.py --small > test/format_cases.json   # the committed fixture

Output: {"torch": version, "tensors": [...], "floats": [...]} where each tensor case is
{name, shape, dtype, device, requiresGrad, gradFnName, defaultDtype, opts, values, repr, data}
and `repr` is PyTorch's own repr(t) under the given print options (`data` is
torch._tensor_str._tensor_str(t, 0)). `floats` checks the Python float formatting
directly: {x, p, f, e} with f = '{:.pf}'.format(x) and e = '{:.pe}'.format(x).

Values are encoded as JSON numbers except nan/inf/-inf/-0.0, which become strings.
Float values are the exact stored values (float16/bfloat16 via .float(), which is exact),
so JSON's shortest round-trip repr reproduces the same double in JavaScript.
"""
import json
import math
import random
import struct
import sys

import torch
import torch._tensor_str as ts

SMALL = "--small" in sys.argv
SMALL_MAX_NUMEL = 400

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "int32": torch.int32,
    "bool": torch.bool,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
NAMES = {v: k for k, v in DTYPES.items()}
FLOATS = ["float32", "float64", "float16", "bfloat16"]

rng = random.Random(20240611)
torch.manual_seed(1234)


class tensor(torch.Tensor):  # noqa: N801 -- the name is what repr prints as its prefix
    """A Tensor subclass whose `device` property lies, so that repr's device suffix can be
    produced without a GPU. Named `tensor` so _str_intern's prefix is still "tensor(" (the
    prefix for a subclass is f"{type(inp).__name__}(")."""

    _fake_device = "cuda:0"

    @property
    def device(self):
        return torch.device(self._fake_device)


def enc(v):
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, int):
        return v
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0 and math.copysign(1.0, v) < 0:
        return "-0"
    return v


def flat_values(t):
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return [enc(v) for v in t.reshape(-1).tolist()]


cases = []


def add(name, t, opts=None, device=None, default_dtype="float32"):
    if SMALL and t.numel() > SMALL_MAX_NUMEL:
        return  # keeps the committed fixture small; the live run covers the large tensors
    opts = dict(opts or {})
    torch.set_printoptions(profile="default")
    torch.set_printoptions(
        precision=opts.get("precision"),
        threshold=opts.get("threshold"),
        edgeitems=opts.get("edgeitems"),
        linewidth=opts.get("linewidth"),
        sci_mode=opts.get("sciMode"),
    )
    torch.set_default_dtype(DTYPES[default_dtype])
    try:
        shown = t
        if device is not None:
            tensor._fake_device = device
            base = t.detach().as_subclass(tensor)
            if t.requires_grad:
                # the alias is a leaf, so it shows requires_grad=True (recorded below as such)
                base.requires_grad_()
            shown = base
        r = repr(shown)
        data = ts._tensor_str(t.detach(), 0)
    finally:
        torch.set_printoptions(profile="default")
        torch.set_default_dtype(torch.float32)
    cases.append(
        {
            "name": name,
            "shape": list(t.shape),
            "dtype": NAMES[t.dtype],
            "device": device or "cpu",
            "requiresGrad": bool(t.requires_grad),
            "gradFnName": type(t.grad_fn).__name__ if (t.grad_fn is not None and device is None) else None,
            "defaultDtype": default_dtype,
            "opts": {k: enc(v) if isinstance(v, float) else v for k, v in opts.items()},
            "values": flat_values(t),
            "repr": r,
            "data": data,
            "bits": [b & 0xFFFF for b in t.detach().contiguous().view(torch.int16).reshape(-1).tolist()]
            if t.dtype in (torch.float16, torch.bfloat16)
            else None,
            "rawValues": [enc(v) for v in t._raw] if hasattr(t, "_raw") else None,
        }
    )


# ---------------------------------------------------------------- value generators
def gen_values(kind, n, dtype):
    if dtype == "bool":
        return [rng.random() < 0.5 for _ in range(n)]
    if dtype == "int32":
        if kind == "bigint":
            return [rng.randint(-(2**31), 2**31 - 1) for _ in range(n)]
        return [rng.randint(-rng.choice([1, 9, 100, 5000]), rng.choice([1, 9, 100, 5000])) for _ in range(n)]
    out = []
    scale = 10.0 ** rng.randint(-9, 11)
    for _ in range(n):
        if kind == "int":
            v = float(rng.randint(-rng.choice([3, 50, 999, 20000]), rng.choice([3, 50, 999, 20000])))
        elif kind == "bigint":
            v = float(rng.randint(-(10**rng.randint(3, 12)), 10**rng.randint(3, 12)))
        elif kind == "uniform":
            v = rng.uniform(-1, 1) * rng.choice([1, 10, 100, 1000])
        elif kind == "normal":
            v = rng.gauss(0, 1)
        elif kind == "scaled":
            v = rng.gauss(0, 1) * scale
        elif kind == "tiny":
            v = rng.uniform(0, 1) * 1e-5
        elif kind == "wide":
            v = rng.gauss(0, 1) * 10.0 ** rng.randint(-6, 9)
        elif kind == "round":
            # few decimal digits: exercises exact ties like 0.125, 2.5 at low precision
            v = rng.randint(-4000, 4000) / rng.choice([2, 4, 8, 16, 32, 1000, 10000])
        elif kind == "special":
            v = rng.choice([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, rng.gauss(0, 3), float(rng.randint(-9, 9))])
        elif kind == "zeros":
            v = rng.choice([0.0, -0.0])
        else:
            raise ValueError(kind)
        out.append(v)
    return out


KINDS = ["int", "bigint", "uniform", "normal", "scaled", "tiny", "wide", "round", "special", "zeros"]


def make(shape, dtype, kind):
    n = 1
    for s in shape:
        n *= s
    vals = gen_values(kind, n, dtype)
    if dtype in ("float16", "bfloat16", "float32"):
        # construct through float64 so rounding to the target dtype happens once, in torch
        t = torch.tensor(vals, dtype=torch.float64).to(DTYPES[dtype])
    else:
        t = torch.tensor(vals, dtype=DTYPES[dtype])
    t = t.reshape(shape)
    if dtype in ("float16", "bfloat16", "float32"):
        t._raw = vals  # the float64 values before torch rounded them to the dtype
    return t


def rand_shape(max_dims=4, max_size=5):
    nd = rng.randint(0, max_dims)
    return [rng.choice([0, 1, 1, 2, 3, 4, max_size]) if rng.random() < 0.15 else rng.randint(1, max_size) for _ in range(nd)]


def rand_opts():
    o = {}
    if rng.random() < 0.3:
        o["precision"] = rng.randint(0, 8)
    if rng.random() < 0.2:
        o["linewidth"] = rng.choice([20, 40, 60, 100, 120, 200])
    if rng.random() < 0.15:
        o["sciMode"] = rng.choice([True, False])
    if rng.random() < 0.15:
        o["threshold"] = rng.choice([5, 10, 20, 50])
        o["edgeitems"] = rng.choice([1, 2, 3, 4])
    return o


# ---------------------------------------------------------------- hand-picked cases
def from_raw(vals, dtype):
    t = torch.tensor(vals, dtype=torch.float64).to(DTYPES[dtype])
    t._raw = vals
    return t


def hand_picked():
    f = torch.float32
    # doubles that round differently double->half than double->float->half (torch does the latter)
    add("f16 double rounding", from_raw([1 + 2**-11 + 2**-40, -(1 + 2**-11 + 2**-40), 3.0], "float16"), {"precision": 6})
    add("bf16 double rounding", from_raw([1 + 2**-8 + 2**-30, 1 + 2**-8 + 2**-20, 3.0], "bfloat16"), {"precision": 6})
    add("f16 overflow", from_raw([65519.0, 65520.0, -70000.0, 1e-9, 3e-8], "float16"))
    add("scalar float", torch.tensor(3.5))
    add("scalar int-valued float", torch.tensor(3.0))
    add("scalar negative zero", torch.tensor(-0.0))
    add("scalar nan", torch.tensor(float("nan")))
    add("scalar -inf", torch.tensor(-float("inf")))
    add("scalar tiny", torch.tensor(1e-7))
    add("scalar huge", torch.tensor(3e12))
    add("scalar int32", torch.tensor(-42, dtype=torch.int32))
    add("scalar bool", torch.tensor(True))
    add("scalar f64", torch.tensor(0.1, dtype=torch.float64))
    add("scalar f16", torch.tensor(0.1, dtype=torch.float16))
    add("scalar bf16", torch.tensor(0.1, dtype=torch.bfloat16))
    add("vec basic", torch.tensor([1.5, -2.25, 3.0]))
    add("vec int mode", torch.tensor([1.0, -2.0, 300.0]))
    add("vec int mode sci ratio", torch.tensor([1.0, 2000.0]))
    add("vec int mode sci big", torch.tensor([1e9, 2e9]))
    add("vec sci small", torch.tensor([1e-5, 0.5]))
    add("vec sci ratio", torch.tensor([0.01, 20.0]))
    add("vec no sci ratio 1000", torch.tensor([0.5, 500.0]))
    add("vec neg zero int", torch.tensor([0.0, -0.0]))
    add("vec neg zero float", torch.tensor([-0.0, 1.5]))
    add("vec neg zero sci", torch.tensor([-0.0, 1e-6]))
    add("vec nan inf", torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5]))
    add("vec nan inf int", torch.tensor([float("nan"), float("inf"), -float("inf"), 2.0]))
    add("vec nan inf sci", torch.tensor([float("nan"), float("inf"), -float("inf"), 1e-8]))
    add("vec only nan", torch.tensor([float("nan"), float("nan")]))
    add("vec nan zero", torch.tensor([float("nan"), 0.0]))
    add("vec only zeros", torch.zeros(4))
    add("vec -nan", torch.tensor([0.0, 1.0]) / 0)
    add("vec ties prec2", torch.tensor([0.125, 0.375, 2.5, -0.625], dtype=torch.float64), {"precision": 2})
    add("vec ties prec0", torch.tensor([0.5, 1.5, 2.5, -3.5, 0.25]), {"precision": 0})
    add("vec ties prec0 sci", torch.tensor([0.5, 1.5, 2.5e-7, -3.5]), {"precision": 0})
    add("vec carry sci", torch.tensor([9.99995e-7, 9.99996e-7, 1.0], dtype=torch.float64))
    add("vec carry fixed", torch.tensor([9.99995, 0.99995, 0.00015], dtype=torch.float64))
    add("vec f32 repr", torch.tensor([0.1, 0.2, 0.3, 1.0 / 3.0]))
    add("vec f64 default", torch.tensor([0.1, 0.2], dtype=torch.float64), default_dtype="float64")
    add("vec f32 under f64 default", torch.tensor([0.1, 0.2], dtype=torch.float32), default_dtype="float64")
    add("vec int32", torch.tensor([1, -20, 300], dtype=torch.int32))
    add("vec int32 f64 default", torch.tensor([1, -20, 300], dtype=torch.int32), default_dtype="float64")
    add("vec bool", torch.tensor([True, False]))
    add("vec bool all true", torch.tensor([True, True]))
    add("mat bool", torch.tensor([[True, False], [False, False]]))
    add("vec f16", torch.tensor([0.1, 1000.5, -3.0], dtype=torch.float16))
    add("vec f16 overflowish", torch.tensor([65504.0, -65504.0, 1e-3], dtype=torch.float16))
    add("vec f16 subnormal", torch.tensor([6e-8, 1e-6, 1.0], dtype=torch.float16))
    add("vec bf16", torch.tensor([0.1, 1e20, -3.0], dtype=torch.bfloat16))
    add("vec f64 huge", torch.tensor([1e300, -2e-300], dtype=torch.float64))
    add("vec f64 subnormal", torch.tensor([5e-324, 1.0], dtype=torch.float64))
    add("vec nosci huge", torch.tensor([1e30, 1.5], dtype=torch.float64), {"sciMode": False})
    add("vec nosci huge int", torch.tensor([1e25, 2.0], dtype=torch.float64), {"sciMode": False})
    add("vec forced sci int", torch.tensor([1.0, 2.0, 30.0]), {"sciMode": True})
    add("vec forced sci zeros", torch.tensor([0.0, 0.0]), {"sciMode": True})
    add("vec forced nosci tiny", torch.tensor([1e-6, 2.0]), {"sciMode": False})
    add("vec high precision", torch.tensor([0.1, 2.0 / 3.0], dtype=torch.float64), {"precision": 20})
    add("vec prec 0", torch.tensor([0.4, -0.4, 1.6]), {"precision": 0})
    add("mat", torch.tensor([[1.0, 2.5], [3.0, 4.0]]))
    add("3d", torch.arange(24, dtype=f).reshape(2, 3, 4) / 7)
    add("4d", torch.arange(48, dtype=f).reshape(2, 2, 3, 4) - 20)
    add("4d int32", torch.arange(48, dtype=torch.int32).reshape(2, 3, 2, 4) * 37 - 500)
    # emptiness
    add("empty 1d", torch.tensor([]))
    add("empty 0x3", torch.zeros(0, 3))
    add("empty 3x0", torch.zeros(3, 0))
    add("empty 2x0x4", torch.zeros(2, 0, 4))
    add("empty int32", torch.zeros(0, dtype=torch.int32))
    add("empty bool", torch.zeros(0, dtype=torch.bool))
    add("empty f64", torch.zeros(0, dtype=torch.float64))
    add("empty f64 default", torch.zeros(0, 2, dtype=torch.float64), default_dtype="float64")
    add("empty f32 under f64", torch.zeros(0, dtype=torch.float32), default_dtype="float64")
    add("empty f16 0x1", torch.zeros(0, 1, dtype=torch.float16))
    add("empty requires_grad", torch.zeros(0, 3, requires_grad=True))
    add("empty cuda", torch.zeros(0, 3, dtype=torch.float64), device="cuda:0")
    # size-1 dims
    add("1x1", torch.tensor([[7.25]]))
    add("1x1x1x1", torch.tensor([[[[-7.0]]]]))
    add("1x5", torch.randn(1, 5))
    add("5x1", torch.randn(5, 1))
    add("2x1x3", torch.randn(2, 1, 3))
    # autograd suffixes
    x = torch.tensor([1.5, 2.0, -3.0], requires_grad=True)
    add("requires_grad", x)
    add("grad_fn mul", x * 2)
    add("grad_fn add", x + 1)
    add("grad_fn sum", (x * x).sum())
    add("grad_fn mean", x.mean())
    add("grad_fn relu", torch.relu(x))
    add("grad_fn matmul", torch.randn(3, 3, requires_grad=True) @ torch.randn(3, 2))
    add("grad_fn exp f64", torch.exp(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)))
    add("grad_fn view", torch.randn(2, 3, requires_grad=True).view(3, 2))
    add("grad_fn tanh long", torch.tanh(torch.randn(6, 12, requires_grad=True)))
    add("requires_grad long rows", torch.randn(3, 9, requires_grad=True))
    add("requires_grad linewidth", torch.randn(2, 3, dtype=torch.float64, requires_grad=True), {"linewidth": 50})
    add("requires_grad f16 scalar", torch.tensor(1.0, dtype=torch.float16, requires_grad=True))
    # devices
    add("cuda vec", torch.tensor([1.5, 2.0]), device="cuda:0")
    add("cuda:1 int32", torch.tensor([1, 2], dtype=torch.int32), device="cuda:1")
    add("cuda f64 grad", torch.tensor([1.5, 2.0], dtype=torch.float64, requires_grad=True), device="cuda:0")
    add("cuda long", torch.randn(4, 7), device="cuda:0")
    add("mps", torch.randn(2, 2), device="mps:0")
    add("cuda scalar bool", torch.tensor(False), device="cuda:3")
    add("cuda long suffixes", torch.randn(2, 8, dtype=torch.float64, requires_grad=True), {"linewidth": 70}, device="cuda:0")
    # suffix wrapping boundaries: lines whose length is just under / at / over the linewidth
    for n in range(5, 10):
        add(f"suffix wrap {n}", torch.arange(n, dtype=torch.float64) + 0.5, device="cuda:0")
        add(f"suffix wrap grad {n}", torch.arange(n, dtype=torch.float16) * 1.5 + 0.25, {"linewidth": 60}, device="cuda:0")
    # long rows / linewidth
    add("long row", torch.randn(30))
    add("long row int", torch.arange(40, dtype=f))
    add("long row int32", torch.arange(-20, 30, dtype=torch.int32))
    add("long row bool", torch.rand(40) < 0.5)
    add("long row 2d", torch.randn(3, 20))
    add("long row 3d", torch.randn(2, 2, 15))
    add("long row sci", torch.randn(25) * 1e-6)
    add("long row tiny linewidth", torch.randn(2, 4), {"linewidth": 5})
    add("long row linewidth 1", torch.randn(3), {"linewidth": 1})
    # summarisation
    add("summ 1d", torch.arange(1001, dtype=f))
    add("summ 1d float", torch.randn(2000))
    add("summ 2d", torch.randn(40, 40))
    add("summ 2d narrow", torch.randn(1001, 2))
    add("summ 2d wide", torch.randn(2, 1001))
    add("summ 3d", torch.randn(3, 20, 20))
    add("summ 4d", torch.randn(2, 3, 13, 13))
    add("summ int32", torch.arange(2000, dtype=torch.int32).reshape(40, 50))
    add("summ bool", (torch.rand(30, 40) < 0.5))
    add("summ hidden outlier", torch.cat([torch.ones(3), torch.full((1000,), 1e-9), torch.ones(3) * 2]))
    add("summ hidden nan", torch.cat([torch.ones(3), torch.full((1000,), float("nan")), torch.ones(3) * 2.5]))
    add("summ f16", torch.randn(1200, dtype=torch.float16))
    add("summ edge 1", torch.randn(50), {"threshold": 10, "edgeitems": 1})
    add("summ edge 0", torch.randn(20), {"threshold": 10, "edgeitems": 0})
    add("summ threshold inf", torch.randn(1500), {"threshold": float("inf")})
    add("summ 3d small edge", torch.randn(5, 6, 7), {"threshold": 20, "edgeitems": 2})
    add("summ exactly threshold", torch.randn(1000))
    add("summ 2d small", torch.randn(30, 10), {"threshold": 100})
    add("summ 3d small int32", torch.arange(8 * 9 * 5, dtype=torch.int32).reshape(8, 9, 5) - 100, {"threshold": 300, "edgeitems": 2})
    add("summ 1d small hidden outlier", torch.cat([torch.ones(3), torch.full((50,), 1e-9), torch.ones(3) * 2]), {"threshold": 50})
    add("summ 4d tiny edge", torch.arange(4 * 5 * 6 * 7, dtype=torch.int32).reshape(4, 5, 6, 7), {"threshold": 50, "edgeitems": 1})
    add("summ requires grad cuda", torch.randn(1100, dtype=torch.float64, requires_grad=True), device="cuda:0")


def random_cases(count, max_size):
    for i in range(count):
        dtype = rng.choice(FLOATS * 3 + ["int32", "bool"])
        kind = rng.choice(KINDS)
        shape = rand_shape(4, max_size)
        t = make(shape, dtype, kind)
        opts = rand_opts()
        device = rng.choice([None] * 6 + ["cuda:0", "cuda:1"])
        default_dtype = "float64" if rng.random() < 0.2 else "float32"
        if t.dtype.is_floating_point and rng.random() < 0.2:
            t = t.clone().requires_grad_()
            if device is None and rng.random() < 0.5:
                t = rng.choice([lambda a: a * 2, lambda a: a - 1, lambda a: -a, lambda a: a.clone()])(t)
        add(f"random {i} {dtype} {kind} {shape}", t, opts, device, default_dtype)


def random_big_cases(count):
    for i in range(count):
        dtype = rng.choice(FLOATS + ["int32", "bool"])
        kind = rng.choice(KINDS)
        nd = rng.randint(1, 4)
        rest = [rng.randint(1, 12) for _ in range(nd - 1)]
        inner = math.prod(rest)
        shape = [1000 // inner + 1 + rng.randint(0, 30)] + rest  # always more than 1000 elements
        rng.shuffle(shape)
        t = make(shape, dtype, kind)
        add(f"big {i} {dtype} {kind} {shape}", t, rand_opts())


def float_checks(count):
    out = []
    def push(x, p):
        out.append({"x": enc(x), "p": p, "f": ("{:.%df}" % p).format(x), "e": ("{:.%de}" % p).format(x)})
    specials = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 1e21, 1e22, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,
                9.5, 99.5, 999.5, 0.05, 0.15, 0.25, 0.35, 1e-5, 123456789.0, float("nan"), float("inf"), -float("inf")]
    for x in specials:
        for p in (0, 1, 2, 4, 8, 17):
            push(x, p)
    for _ in range(count):
        r = rng.random()
        if r < 0.3:
            x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
            if math.isnan(x):
                continue
        elif r < 0.6:
            x = rng.gauss(0, 1) * 10.0 ** rng.randint(-30, 30)
        elif r < 0.8:
            x = rng.randint(-100000, 100000) / rng.choice([2, 4, 8, 16, 64, 1024])
        else:
            x = struct.unpack("<f", struct.pack("<f", rng.gauss(0, 1) * 10.0 ** rng.randint(-10, 10)))[0]
        push(x, rng.choice([0, 1, 2, 3, 4, 6, 8, 12, 20]))
    return out


hand_picked()
random_cases(150 if SMALL else 500, 5)
if not SMALL:
    random_big_cases(25)
floats = float_checks(500 if SMALL else 3000)

json.dump({"torch": torch.__version__, "tensors": cases, "floats": floats}, sys.stdout, allow_nan=False)
