"""Kernel latency through jupyter_client, gradbook side by side with its peers, in one run:
start to first kernel_info_reply, trivial cell round trip (execute_request sent to status idle
received) p50/p95, completion p50 after warm-up (and the first, cold one), resident memory after
start (the kernel's process tree), and whether a 10,000-print cell arrives whole (every line, in
order, then idle).

usage: /usr/bin/python3 bench/kernel-latency.py [KERNEL ...]
  KERNEL: gradbook, tslab, ijavascript, ipykernel (default: all four)

Kernelspecs are written to a temporary JUPYTER_PATH, so nothing needs installing first except:
  npm run build  (or the kernel tests, which build dist/kernel and dist/magics)
  bench/peers/kernels: tslab and ijavascript, see bench/peers/kernels/README.md.
"""
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers", "kernels")
PEER_MODULES = os.path.join(PEERS, "node_modules")
NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else "node"

SPECS = {
    "gradbook": {
        "argv": [NODE, os.path.join(ROOT, "bin", "gradbook.js"), "kernel", "-f", "{connection_file}"],
        "language": "typescript",
        "needs": os.path.join(ROOT, "dist", "kernel", "cli.js"),
    },
    # tslab type-checks against @types/node found from its working folder (bench/peers/kernels).
    "tslab": {
        "argv": [NODE, os.path.join(PEER_MODULES, "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"],
        "language": "typescript",
        "needs": os.path.join(PEER_MODULES, "tslab", "bin", "tslab"),
        "cwd": PEERS,
    },
    "ijavascript": {
        "argv": [NODE, os.path.join(PEER_MODULES, "ijavascript", "lib", "kernel.js"), "--hide-undefined", "--protocol=5.1", "{connection_file}"],
        "language": "javascript",
        "needs": os.path.join(PEER_MODULES, "zeromq", "build", "Release", "zmq.node"),
    },
    "ipykernel": {
        "argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "language": "python",
        "needs": "/usr/lib/python3/dist-packages/ipykernel/__init__.py",
    },
}

CODE = {
    "typescript": {
        "print": "for (let i = 0; i < 10000; i++) console.log(i)",
        "decl": "const s = new Map<string, number>()",
    },
    "javascript": {
        "print": "for (let i = 0; i < 10000; i++) console.log(i)",
        "decl": "var s = new Map()",
    },
    "python": {"print": "for i in range(10000): print(i)", "decl": "s = dict()"},
}


def write_specs():
    root = tempfile.mkdtemp(prefix="gradbook-bench-kernels-")
    for name, spec in SPECS.items():
        d = os.path.join(root, "kernels", "bench-" + name)
        os.makedirs(d)
        with open(os.path.join(d, "kernel.json"), "w") as f:
            json.dump({"argv": spec["argv"], "display_name": name, "language": spec["language"], "interrupt_mode": "signal"}, f)
    os.environ["JUPYTER_PATH"] = root
    os.environ["JUPYTER_DATA_DIR"] = root


from jupyter_client.manager import KernelManager  # noqa: E402  (after JUPYTER_PATH is known)


def tree_rss_mb(pid):
    """Resident memory of pid and its descendants (a kernel may be a launcher plus a child)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def start(name):
    km = KernelManager(kernel_name="bench-" + name)
    t0 = time.perf_counter()
    km.start_kernel(cwd=SPECS[name].get("cwd") or tempfile.mkdtemp())
    kc = km.client()
    kc.start_channels()
    while True:
        try:
            kc.kernel_info(reply=True, timeout=0.02)
            break
        except Exception:
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("no kernel_info_reply within 60 s")
    return km, kc, time.perf_counter() - t0


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def round_trip(kc, code, deadline_s=10.0):
    """Seconds from execute_request to its idle, and the stdout text; idle None when it never came."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    out = []
    idle = None
    while time.perf_counter() - t0 < deadline_s:
        try:
            m = kc.get_iopub_msg(timeout=max(0.01, deadline_s - (time.perf_counter() - t0)))
        except Exception:
            break
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream" and m["content"]["name"] == "stdout":
            out.append(m["content"]["text"])
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            idle = time.perf_counter() - t0
            break
    try:
        while kc.get_shell_msg(timeout=2)["parent_header"].get("msg_id") != msg_id:
            pass
    except Exception:
        pass
    return idle, "".join(out)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def bench(name):
    spec = SPECS[name]
    if not os.path.exists(spec["needs"]):
        return {"kernel": name, "skipped": "missing %s" % spec["needs"]}
    code = CODE[spec["language"]]
    starts = []
    for _ in range(3):
        km, kc, s = start(name)
        starts.append(s)
        stop(km, kc)
    km, kc, _ = start(name)
    time.sleep(1.0)
    pid = km.provisioner.process.pid if km.provisioner else None
    rss = tree_rss_mb(pid) if pid else None
    for _ in range(30):
        round_trip(kc, "1")
    cells = [round_trip(kc, "1")[0] for _ in range(300)]
    lost_cells = sum(1 for c in cells if c is None)
    cells = [c for c in cells if c is not None]
    seconds, text = round_trip(kc, code["print"], deadline_s=20)
    lines = text.split("\n")[:-1]
    whole = seconds is not None and lines == [str(i) for i in range(10000)]
    print_note = "whole" if whole else "%d of 10000 lines%s" % (len(lines), "" if seconds is not None else ", no idle")
    if seconds is None:
        # A kernel that lost its idle may be wedged: measure completion on a fresh one.
        stop(km, kc)
        km, kc, _ = start(name)
        pid = km.provisioner.process.pid if km.provisioner else None
    round_trip(kc, code["decl"])
    comps = []
    for i in range(25):
        t0 = time.perf_counter()
        try:
            kc.complete("s.", 2, reply=True, timeout=30)
            comps.append(time.perf_counter() - t0)
        except Exception:
            break
    rss_after_completion = tree_rss_mb(pid) if pid else None
    stop(km, kc)
    return {
        "kernel": name,
        "start_s_median": statistics.median(starts),
        "cell_p50_ms": 1000 * pct(cells, 0.5) if cells else None,
        "cell_p95_ms": 1000 * pct(cells, 0.95) if cells else None,
        "cells_without_idle": lost_cells,
        "ten_thousand_lines": print_note,
        "ten_thousand_lines_s": seconds,
        "complete_first_ms": 1000 * comps[0] if comps else None,
        "complete_p50_ms_after_warmup": 1000 * statistics.median(comps[5:]) if len(comps) > 5 else None,
        "rss_after_start_mb": rss,
        "rss_after_completions_mb": rss_after_completion,
    }


def fmt(v, spec):
    return "-" if v is None else spec % v


def table(rows):
    cols = [
        ("kernel", "%s"),
        ("start_s_median", "%.2f s"),
        ("cell_p50_ms", "%.2f ms"),
        ("cell_p95_ms", "%.2f ms"),
        ("complete_first_ms", "%.0f ms"),
        ("complete_p50_ms_after_warmup", "%.1f ms"),
        ("rss_after_start_mb", "%.0f MB"),
        ("ten_thousand_lines", "%s"),
        ("ten_thousand_lines_s", "%.2f s"),
    ]
    heads = ["kernel", "start", "cell p50", "cell p95", "complete 1st", "complete p50", "RSS start", "10k prints", "10k time"]
    cells = [[fmt(r.get(k), s) if "skipped" not in r or k == "kernel" else ("skipped" if k == "start_s_median" else "") for k, s in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))
    for r in rows:
        if "skipped" in r:
            print("%s skipped: %s" % (r["kernel"], r["skipped"]))


if __name__ == "__main__":
    write_specs()
    rows = []
    for name in sys.argv[1:] or ["gradbook", "tslab", "ijavascript", "ipykernel"]:
        try:
            row = bench(name)
        except Exception as e:  # one broken peer must not hide the others
            row = {"kernel": name, "skipped": "%s: %s" % (type(e).__name__, e)}
        rows.append(row)
        print(json.dumps(row))
        sys.stdout.flush()
    print()
    table(rows)
    sys.stdout.flush()
    os._exit(0)
