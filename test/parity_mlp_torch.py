"""Trains the digits MLP in PyTorch from gradbook's initial weights and batches; prints the losses.

argv: weights.safetensors data.safetensors config.json
config: {"dtype": "float32"|"float64", "optimizer": "sgd"|"adam", "batches": [[row, ...], ...]}
Safetensors files are read by the spec with numpy (no safetensors package needed).
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NP = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "BOOL": "|b1"}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf8"))
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:end], dtype=NP[e["dtype"]]).reshape(e["shape"]).copy())
    return out


def main():
    weights = read_safetensors(sys.argv[1])
    data = read_safetensors(sys.argv[2])
    cfg = json.load(open(sys.argv[3]))
    dtype = {"float32": torch.float32, "float64": torch.float64}[cfg["dtype"]]
    torch.set_num_threads(1)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in weights.items()})
    x = data["x"].to(dtype)
    y = data["y"].long()
    if cfg["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for rows in cfg["batches"]:
        idx = torch.tensor(rows)
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    json.dump(losses, sys.stdout)


main()
