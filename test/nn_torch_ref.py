"""Runs cases against real PyTorch for the nn/optim tests.

stdin: {"cases": [{"code": "...", "inputs": [{"data": [...], "shape": [...], "dtype": "float64", "grad": true}], "cotangent": [...]}]}
Each case's code sees x0, x1, ... (torch tensors), torch, F, nn, math, and sets `out` (a tensor) and
optionally `extra` (a list of tensors or numbers). When `cotangent` is given, (out * cotangent).sum()
is back-propagated and the inputs' gradients are returned.
stdout: {"results": [{"out": [...], "shape": [...], "grads": [[...] | null], "extra": [[...]]}]}
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DT = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int64, "bool": torch.bool}


def flat(t):
    if isinstance(t, (int, float)):
        return [t]
    return t.detach().reshape(-1).double().tolist() if t.dtype != torch.bool else t.reshape(-1).int().tolist()


def run(case):
    torch.manual_seed(0)
    env = {"torch": torch, "F": F, "nn": nn, "math": math}
    xs = []
    for i, spec in enumerate(case.get("inputs", [])):
        t = torch.tensor(spec["data"], dtype=DT[spec["dtype"]]).reshape(spec["shape"])
        if spec.get("grad"):
            t.requires_grad_(True)
        xs.append(t)
        env["x%d" % i] = t
    exec(case["code"], env)
    out = env["out"]
    res = {"out": flat(out), "shape": list(out.shape), "grads": [], "extra": [flat(e) for e in env.get("extra", [])]}
    cot = case.get("cotangent")
    if cot is not None:
        v = torch.tensor(cot, dtype=out.dtype).reshape(out.shape)
        (out * v).sum().backward()
        res["grads"] = [flat(x.grad) if x.grad is not None else None for x in xs]
    return res


def main():
    req = json.load(sys.stdin)
    results = []
    for case in req["cases"]:
        try:
            results.append(run(case))
        except Exception as e:  # reported per case, so one bad case names itself
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump({"results": results}, sys.stdout)


main()
