"""Drives the gradbook kernel as a real Jupyter client would (Debian's jupyter_client).

usage: /usr/bin/python3 jupyter_driver.py BIN SCENARIO...
Installs the kernelspec with `BIN install --prefix TMP`, starts the kernel through jupyter_client,
runs each scenario, and prints one JSON object {scenario: result} as the last line of stdout.
A scenario that raises reports {"exception": traceback} instead of stopping the others.
"""
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

BIN = sys.argv[1]
PREFIX = tempfile.mkdtemp(prefix="gradbook-kernelspec-")
subprocess.run(["node", BIN, "install", "--prefix", PREFIX], check=True, stdout=subprocess.DEVNULL)
os.environ["JUPYTER_PATH"] = os.path.join(PREFIX, "share", "jupyter")


def start(cwd=None):
    km = KernelManager(kernel_name="gradbook")
    t0 = time.perf_counter()
    km.start_kernel(cwd=cwd or tempfile.mkdtemp(prefix="gradbook-nb-"))
    kc = km.client()
    kc.start_channels()
    # Poll like a front end would, but with a short timeout so the figure is not quantised.
    while True:
        try:
            kc.kernel_info(reply=True, timeout=0.05)
            break
        except Exception:
            if time.perf_counter() - t0 > 30:
                raise
    started = time.perf_counter() - t0
    # Make sure iopub is subscribed before the scenarios look for output on it.
    while True:
        kc.execute("0", silent=True)
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
            while msg["msg_type"] != "status" or msg["content"]["execution_state"] != "idle":
                msg = kc.get_iopub_msg(timeout=2)
            break
        except Exception:
            continue
    kc.get_shell_msg(timeout=5)
    return km, kc, started


KM, KC, STARTED = start()


def run(code, timeout=20, **kw):
    """Executes code, returns (reply content, [(msg_type, content), ...] from iopub)."""
    out = []
    reply = KC.execute_interactive(
        code, output_hook=lambda m: out.append((m["msg_type"], m["content"])), timeout=timeout, **kw
    )
    return reply["content"], out


def text_of(out, kind="stdout"):
    return "".join(c["text"] for t, c in out if t == "stream" and c["name"] == kind)


def result_of(out):
    for t, c in out:
        if t == "execute_result":
            return c["data"]["text/plain"]
    return None


def wait_reply(msg_id, timeout=20):
    deadline = time.time() + timeout
    while True:
        msg = KC.get_shell_msg(timeout=max(0.01, deadline - time.time()))
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def drain_iopub_until_idle(msg_id, timeout=20):
    out = []
    deadline = time.time() + timeout
    while True:
        msg = KC.get_iopub_msg(timeout=max(0.01, deadline - time.time()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append((msg["msg_type"], msg["content"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out


def wait_started(msg_id, timeout=20):
    """Waits for the cell's execute_input: a person presses interrupt on a cell shown as running."""
    deadline = time.time() + timeout
    while True:
        msg = KC.get_iopub_msg(timeout=max(0.01, deadline - time.time()))
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            return


def interrupt_after(code, delay=0.5):
    msg_id = KC.execute(code)
    wait_started(msg_id)
    time.sleep(delay)
    t0 = time.perf_counter()
    KM.interrupt_kernel()
    reply = wait_reply(msg_id)
    elapsed = time.perf_counter() - t0
    drain_iopub_until_idle(msg_id)
    return reply["content"], elapsed


def scenario_kernel_info():
    reply = KC.kernel_info(reply=True, timeout=5)
    return {"content": reply["content"], "msg_type": reply["msg_type"], "start_seconds": STARTED}


def scenario_execute():
    r1, o1 = run("1 + 1")
    r2, o2 = run('const greeting = "hello"; console.log(greeting, 42); console.error("warn")')
    r3, o3 = run("const a = 1;\n\n(null as any).foo")
    return {
        "result": result_of(o1),
        "count": r1["execution_count"],
        "stdout": text_of(o2),
        "stderr": text_of(o2, "stderr"),
        "error_reply": r3,
        "error_msgs": [c for t, c in o3 if t == "error"],
        "msg_types": [t for t, _ in o1],
    }


def scenario_persistence():
    run("const x = 41; class Foo { v = 1 }; function twice(n: number) { return 2 * n }")
    _, o = run("x + new Foo().v + twice(0)")
    again, _ = run("const x = 5; class Foo { v = 2 }")
    _, o2 = run("x + new Foo().v")
    return {"first": result_of(o), "rerun_status": again["status"], "after_rerun": result_of(o2)}


def scenario_interrupt():
    run("const kept = 'still here'")
    sync, t_sync = interrupt_after("let spins = 0; while (true) { spins++ }")
    awaits, t_awaits = interrupt_after("while (true) { await new Promise((r) => setTimeout(r, 1)) }")
    after_await, t_after_await = interrupt_after("await null; while (true) {}")
    magic, t_magic = interrupt_after("%timeit -n 1 -r 1 while (true) {}")
    _, o = run("kept")
    return {
        "sync": [sync["status"], sync.get("ename"), t_sync],
        "awaits": [awaits["status"], awaits.get("ename"), t_awaits],
        "after_await": [after_await["status"], after_await.get("ename"), t_after_await],
        "magic": [magic["status"], magic.get("ename"), t_magic],
        "kept": result_of(o),
    }


def scenario_many_interrupts():
    run("let survivor = 7")
    honoured = 0
    for i in range(100):
        content, elapsed = interrupt_after("while (true) {}", delay=0.02)
        if content["status"] == "error" and elapsed < 1:
            honoured += 1
    _, o = run("survivor")
    return {"honoured": honoured, "kept": result_of(o)}


def scenario_busy_responsive():
    msg_id = KC.execute("const t0 = Date.now(); while (Date.now() - t0 < 1500) {}")
    time.sleep(0.3)
    t0 = time.perf_counter()
    KC.kernel_info(reply=True, timeout=5)
    info = time.perf_counter() - t0
    # Heartbeat: a REQ to hb_port must echo.
    ctx = zmq.Context.instance()
    hb = ctx.socket(zmq.REQ)
    hb.linger = 0
    hb.connect("%s://%s:%d" % (KM.transport, KM.ip, KM.hb_port))
    t0 = time.perf_counter()
    hb.send(b"ping")
    ok = hb.poll(2000)
    hb_reply = hb.recv() if ok else None
    hb_time = time.perf_counter() - t0
    hb.close()
    wait_reply(msg_id)
    drain_iopub_until_idle(msg_id)
    return {"kernel_info_seconds": info, "heartbeat": hb_reply.decode() if hb_reply else None, "hb_seconds": hb_time}


def scenario_input():
    msg_id = KC.execute("const who = await input('who? '); const secret = await password('pw: '); who + ':' + secret", allow_stdin=True)
    req1 = KC.get_stdin_msg(timeout=10)
    KC.input("Ada")
    req2 = KC.get_stdin_msg(timeout=10)
    KC.input("s3cret")
    wait_reply(msg_id)
    out = drain_iopub_until_idle(msg_id)
    msg_id = KC.execute("const answer = globalThis[Symbol.for('gradbook.pause')]('pause> '); answer.toUpperCase()", allow_stdin=True)
    req3 = KC.get_stdin_msg(timeout=10)
    KC.input("blocked")
    wait_reply(msg_id)
    out2 = drain_iopub_until_idle(msg_id)
    return {
        "prompts": [req1["content"], req2["content"], req3["content"]],
        "result": result_of(out),
        "pause_result": result_of(out2),
    }


def scenario_display():
    code = (
        "const rich = { [Symbol.for('Jupyter.display')]() { return { 'text/html': '<b>hi</b>' } } };\n"
        "const h = display(rich, { displayId: 'd1' });\n"
        "h.update('updated');\n"
        "clearOutput({ wait: true });\n"
        "rich"
    )
    _, out = run(code)
    return {"messages": [[t, c] for t, c in out if t != "status"]}


def scenario_ten_thousand_lines():
    t0 = time.perf_counter()
    _, out = run("for (let i = 0; i < 10000; i++) console.log('line ' + i)", timeout=30)
    elapsed = time.perf_counter() - t0
    lines = text_of(out).splitlines()
    expected = ["line %d" % i for i in range(10000)]
    return {"whole_and_ordered": lines == expected, "count": len(lines), "seconds": elapsed, "messages": len(out)}


def scenario_late_output():
    run("setTimeout(() => console.log('later'), 100)")
    msg_id = KC.execute("await new Promise((r) => setTimeout(r, 10)); 'second'")
    first_parent = None
    deadline = time.time() + 5
    later = None
    while time.time() < deadline and later is None:
        msg = KC.get_iopub_msg(timeout=5)
        if msg["msg_type"] == "stream" and "later" in msg["content"]["text"]:
            later = msg
    wait_reply(msg_id)
    return {"later_parent_is_first_cell": later is not None and later["parent_header"]["msg_id"] != msg_id}


def scenario_uncaught():
    _, out = run("setTimeout(() => { throw new RangeError('from a timer') }, 10); Promise.reject(new Error('nobody catches')); 1")
    stderr = text_of(out, "stderr")
    deadline = time.time() + 2
    while time.time() < deadline and "from a timer" not in stderr:
        try:
            m = KC.get_iopub_msg(timeout=0.5)
        except Exception:
            continue
        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr":
            stderr += m["content"]["text"]
    _, o = run("'alive'")
    return {"alive": result_of(o), "stderr": stderr}


def scenario_malformed():
    """1,000 bad messages on shell and control, then a good request."""
    ctx = zmq.Context.instance()
    socks = []
    for port in (KM.shell_port, KM.control_port):
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.connect("%s://%s:%d" % (KM.transport, KM.ip, port))
        socks.append(s)
    good = KC.session
    wrong = Session(key=b"not-the-key")
    rnd = random.Random(3)
    for i in range(1000):
        s = socks[i % 2]
        kind = i % 5
        if kind == 0:
            # wrongly signed execute_request that would set a global if it ran
            msg = wrong.msg("execute_request", {"code": "globalThis.hacked = true", "silent": False})
            wrong.send(s, msg)
        elif kind == 1:
            s.send_multipart([b"<IDS|MSG>", b"", b"{}", b"{}", b"{}", b"{}"])  # missing signature
        elif kind == 2:
            s.send_multipart([bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 64))) for _ in range(rnd.randint(1, 8))])
        elif kind == 3:
            s.send_multipart([b"<IDS|MSG>", b"deadbeef"])  # truncated
        else:
            s.send_multipart([b"<IDS|MSG>", b"00" * 32, b"x" * (2 * 1024 * 1024), b"{", b"}", b"["])  # oversized junk
    time.sleep(0.5)
    for s in socks:
        s.close()
    r, o = run("typeof (globalThis as any).hacked")
    return {"answered": r["status"], "hacked": result_of(o)}


def scenario_complete_inspect():
    run("/** Doubles a number. */\nfunction double(n: number): number { return 2 * n }\nconst s = new Map<string, number>()")
    code = "s."
    c = KC.complete(code, len(code), reply=True, timeout=30)["content"]
    code2 = "s.ha"
    c2 = KC.complete(code2, len(code2), reply=True, timeout=30)["content"]
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        KC.complete(code2, len(code2), reply=True, timeout=30)
        times.append(time.perf_counter() - t0)
    i = KC.inspect("double", 3, detail_level=0, reply=True, timeout=30)["content"]
    _, o = run("double?")
    ic = [wait_reply(KC.is_complete(c))["content"]["status"] for c in ("function f() {", "1 +", "const x = 1", "const = ;")]
    return {
        "matches": c["matches"],
        "cursor": [c["cursor_start"], c["cursor_end"]],
        "types": c["metadata"].get("_jupyter_types_experimental", [])[:3],
        "matches2": c2["matches"],
        "cursor2": [c2["cursor_start"], c2["cursor_end"]],
        "complete_p50": statistics.median(times),
        "inspect": i,
        "question_mark": [c for t, c in o if t == "display_data"],
        "is_complete": ic,
    }


def scenario_language_background():
    """A fresh kernel: a completion asked before the language service loaded must not hold up the
    cell sent right after it; once the kernel has idled a moment the service is warm."""
    km, kc, started = start()
    pid = km.provisioner.process.pid
    rss = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    t0 = time.perf_counter()
    comp_id = kc.complete("Math.ma", 7)
    exec_id = kc.execute("21 * 2")
    got = {}
    deadline = time.time() + 60
    while len(got) < 2 and time.time() < deadline:
        msg = kc.get_shell_msg(timeout=max(0.01, deadline - time.time()))
        parent = msg["parent_header"].get("msg_id")
        if parent in (comp_id, exec_id):
            got[parent] = (time.perf_counter() - t0, msg["content"])
    cell_s, cell = got[exec_id]
    complete_s, comp = got[comp_id]
    # Idle a moment after a cell: the service loads in the background; the next completion is warm.
    kc.execute_interactive("const warmMap = new Map<string, number>()", timeout=20)
    time.sleep(6)
    times = []
    for code in ["warmMap.", "warmMap.s", "warmMap.se", "warmMap.ha", "warmMap."] * 4:
        t1 = time.perf_counter()
        r = kc.complete(code, len(code), reply=True, timeout=30)["content"]
        times.append(time.perf_counter() - t1)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return {
        "start_seconds": started,
        "rss_after_start_mb": rss,
        "cell_seconds": cell_s,
        "cell_status": cell["status"],
        "complete_seconds": complete_s,
        "complete_matches": comp["matches"],
        "warm_first_ms": 1000 * times[0],
        "warm_p50_ms": 1000 * statistics.median(times),
        "warm_matches": r["matches"],
    }


def scenario_tensors():
    """notebooks/tensors.ipynb's cells through jupyter_client, with a real interrupt_request (on the
    control channel) stopping the training loop instead of the cell raising the flag itself."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(BIN)))
    with open(os.path.join(root, "notebooks", "tensors.ipynb")) as f:
        cells = ["".join(c["source"]) for c in json.load(f)["cells"] if c["cell_type"] == "code"]
    km, kc = start(cwd=os.path.join(root, "notebooks"))[:2]

    def run_in(code, timeout=60):
        out = []
        reply = kc.execute_interactive(code, output_hook=lambda m: out.append((m["msg_type"], m["content"])), timeout=timeout)
        return reply["content"], out

    try:
        first = run_in(cells[0])
        setup = run_in(cells[1])
        trained = run_in(cells[2])
        msg_id = kc.execute("await train(1_000_000)")
        deadline = time.time() + 20
        while True:
            m = kc.get_iopub_msg(timeout=max(0.01, deadline - time.time()))
            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input":
                break
        time.sleep(0.5)
        t0 = time.perf_counter()
        kc.control_channel.send(kc.session.msg("interrupt_request", {}))
        while True:
            reply = kc.get_shell_msg(timeout=max(0.01, deadline - time.time()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        stopped_s = time.perf_counter() - t0
        _, a = run_in("step")
        time.sleep(0.3)
        _, b = run_in("step")
        _, kept = run_in("x")
        _, after = run_in("await train(5); step")
        return {
            "result": result_of(first[1]),
            "setup_display": [(t, c.get("data", {}).get("text/plain"), c.get("transient")) for t, c in setup[1] if t == "display_data"],
            "trained": result_of(trained[1]),
            "updates": [c.get("transient", {}).get("display_id") for t, c in trained[1] if t == "update_display_data"],
            "interrupt": [reply["content"].get("status"), reply["content"].get("ename"), reply["content"].get("evalue")],
            "stopped_seconds": stopped_s,
            "step_after": [result_of(a), result_of(b)],
            "kept": result_of(kept),
            "trains_again": result_of(after),
        }
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def scenario_stop_on_error():
    # The failing cell waits first, so the second request is surely queued when it fails.
    a = KC.execute("await new Promise((r) => setTimeout(r, 300)); throw new Error('first')")
    b = KC.execute("globalThis.ranAfterError = true")
    ra = wait_reply(a)
    rb = wait_reply(b)
    _, o = run("typeof (globalThis as any).ranAfterError")
    return {"first": ra["content"]["status"], "queued": rb["content"]["status"], "ran": result_of(o)}


def scenario_history_comm():
    run("40 + 2")
    run("'again'")
    run("40 + 2")
    run("const h1 = 1")
    hist = KC.history(hist_access_type="tail", n=2, reply=True, timeout=5)["content"]
    with_output = KC.history(hist_access_type="tail", n=4, output=True, reply=True, timeout=5)["content"]
    found = KC.history(hist_access_type="search", pattern="40*", reply=True, timeout=5)["content"]
    unique = KC.history(hist_access_type="search", pattern="40*", unique=True, reply=True, timeout=5)["content"]
    run(
        "const comms = (globalThis as any)[Symbol.for('gradbook.comms')];\n"
        "comms.registerTarget('echo', (comm: any, data: any) => { comm.onMessage = (d: any) => comm.send({ echoed: d }); comm.send({ opened: data }) })"
    )
    info0 = KC.comm_info(reply=True, timeout=5)["content"]
    msg = KC.session.msg("comm_open", {"comm_id": "c1", "target_name": "echo", "data": {"x": 1}})
    KC.shell_channel.send(msg)
    msg = KC.session.msg("comm_msg", {"comm_id": "c1", "data": {"y": 2}})
    KC.shell_channel.send(msg)
    got = []
    deadline = time.time() + 5
    while time.time() < deadline and len(got) < 2:
        m = KC.get_iopub_msg(timeout=5)
        if m["msg_type"] == "comm_msg":
            got.append(m["content"]["data"])
    info1 = KC.comm_info(target_name="echo", reply=True, timeout=5)["content"]
    return {"history": hist["history"], "with_output": with_output["history"],
            "search": found["history"], "unique": unique["history"], "comm_data": got, "comms_before": info0["comms"], "comms_after": info1["comms"]}


def scenario_magics():
    _, o1 = run("%lsmagic")
    _, o2 = run("%nosuch")
    _, o3 = run("%timeit 1 + 1")
    _, o4 = run("%%writefile out.txt\nhello file")
    _, o5 = run("%who")
    return {"lsmagic": text_of(o1), "unknown": [c for t, c in o2 if t == "error"], "timeit": text_of(o3), "writefile": text_of(o4), "who": text_of(o5)}


def scenario_cell_timing():
    for _ in range(20):
        run("1")
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        run("1")
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"p50_ms": 1000 * times[len(times) // 2], "p95_ms": 1000 * times[int(len(times) * 0.95)]}


def scenario_process_exit():
    proc = KM.provisioner.process
    KC.execute("process.exit(3)")
    deadline = time.time() + 10
    while proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    code = proc.poll()
    KM.restart_kernel(now=True)
    KC.wait_for_ready(timeout=30)
    _, o = run("'back'")
    return {"exit_code": code, "after_restart": result_of(o)}


def scenario_restart():
    run("const beforeRestart = 1")
    KM.restart_kernel(now=False)
    KC.wait_for_ready(timeout=30)
    _, o = run("typeof (globalThis as any).beforeRestart")
    _, o2 = run("1 + 2")
    return {"state_cleared": result_of(o), "works": result_of(o2)}


def scenario_shutdown():
    proc = KM.provisioner.process if hasattr(KM, "provisioner") and KM.provisioner else KM.kernel
    KC.stop_channels()
    t0 = time.perf_counter()
    KM.shutdown_kernel(now=False)
    return {"exit_code": proc.poll() if hasattr(proc, "poll") else None, "seconds": time.perf_counter() - t0}


results = {}
for name in sys.argv[2:]:
    try:
        results[name] = globals()["scenario_" + name]()
    except Exception:
        results[name] = {"exception": traceback.format_exc()}
if "shutdown" not in sys.argv[2:]:
    KC.stop_channels()
    KM.shutdown_kernel(now=True)
print(json.dumps(results))
sys.stdout.flush()
# Skip interpreter teardown: jupyter_client's __del__ hooks log after logging is gone.
os._exit(0)
