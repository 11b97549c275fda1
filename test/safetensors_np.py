"""Reads and writes safetensors files by the format's spec with numpy only (no safetensors package).

read PATH           -> prints {"metadata": ..., "tensors": {name: {"dtype", "shape", "data"}}}
write PATH          -> writes the JSON spec from stdin ({"metadata", "tensors": {name: {dtype, shape, data}}}),
                       laying the tensors out in reverse name order to exercise offset handling
"""
import json
import struct
import sys

import numpy as np

NP = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "BOOL": "|b1"}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf8"))
    data = raw[8 + n:]
    out = {"metadata": header.pop("__metadata__", None), "tensors": {}}
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[b:end], dtype=NP[e["dtype"]]).reshape(e["shape"])
        vals = arr.astype(np.float64).reshape(-1).tolist()
        out["tensors"][name] = {"dtype": e["dtype"], "shape": list(arr.shape), "data": vals}
    json.dump(out, sys.stdout)


def write(path):
    spec = json.load(sys.stdin)
    header, blobs, off = {}, [], 0
    if spec.get("metadata"):
        header["__metadata__"] = spec["metadata"]
    for name in sorted(spec["tensors"], reverse=True):
        e = spec["tensors"][name]
        arr = np.array(e["data"], dtype=np.float64).astype(NP[e["dtype"]]).reshape(e["shape"])
        b = arr.tobytes()
        header[name] = {"dtype": e["dtype"], "shape": e["shape"], "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode("utf8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


{"read": read, "write": write}[sys.argv[1]](sys.argv[2])
