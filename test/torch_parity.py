"""Evaluates the parity cases with PyTorch: reads JSON cases on stdin, writes results on stdout.

Each case: {"expr": python lambda source over tensors, "inputs": [{"shape", "values", "grad"}],
"dtype"}. The result holds the output values and the gradients of sum(out * weights).
"""
import json
import sys

import torch

torch.set_num_threads(1)


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        dtype = getattr(torch, case["dtype"])
        xs = []
        for spec in case["inputs"]:
            if spec.get("int"):
                t = torch.tensor(spec["values"], dtype=torch.int64).reshape(spec["shape"])
            else:
                t = torch.tensor(spec["values"], dtype=dtype).reshape(spec["shape"])
                t.requires_grad_(spec.get("grad", False))
            xs.append(t)
        fn = eval(case["expr"])  # the expressions are the test's own
        out = fn(*xs)
        res = {"shape": list(out.shape), "values": out.detach().double().flatten().tolist()}
        if out.requires_grad:
            w = torch.tensor(case["weights"], dtype=out.dtype).reshape(out.shape)
            (out * w).sum().backward()
            res["grads"] = [x.grad.double().flatten().tolist() if x.grad is not None else None for x in xs]
        results.append(res)
    json.dump(results, sys.stdout)


main()
