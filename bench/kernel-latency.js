// Kernel latency seen by a minimal Node client (no jupyter_client overhead): start to first
// kernel_info_reply, and a trivial cell's round trip (execute_request sent to status idle).
// usage: node bench/kernel-latency.js [starts]    (build first: npm run build)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { decode, encode, makeHeader, Signer } from '../dist/kernel/wire.js';

const BIN = new URL('../bin/gradbook.js', import.meta.url).pathname;

function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Calls `on(message)` for every message a socket receives, until it is closed. */
async function pump(socket, signer, on) {
  try {
    for await (const frames of socket) {
      const r = decode(frames, signer);
      if (r.ok) on(r.message);
    }
  } catch {
    // closed
  }
}

async function startKernel() {
  const key = randomBytes(16).toString('hex');
  const ports = {};
  for (const name of ['shell_port', 'control_port', 'iopub_port', 'stdin_port', 'hb_port']) {
    ports[name] = await freePort();
  }
  const file = join(tmpdir(), `gradbook-bench-${process.pid}-${Date.now()}.json`);
  writeFileSync(
    file,
    JSON.stringify({ transport: 'tcp', ip: '127.0.0.1', key, signature_scheme: 'hmac-sha256', ...ports }),
  );
  const signer = new Signer('hmac-sha256', key);
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'kernel', '-f', file], { stdio: 'ignore' });
  // Connecting before the kernel binds: retry every 10 ms (libzmq's default is 100 ms), so the
  // figure is the kernel's start, not the client's back-off.
  const shell = new zmq.Dealer({ reconnectInterval: 10 });
  const iopub = new zmq.Subscriber({ reconnectInterval: 10 });
  shell.connect(`tcp://127.0.0.1:${ports.shell_port}`);
  iopub.connect(`tcp://127.0.0.1:${ports.iopub_port}`);
  iopub.subscribe();
  const waiting = new Map();
  let replied = false;
  void pump(shell, signer, () => (replied = true));
  void pump(iopub, signer, (m) => {
    const idle = m.header.msg_type === 'status' && m.content.execution_state === 'idle';
    if (idle) waiting.get(m.parent_header.msg_id)?.();
  });
  const send = async (msgType, content) => {
    const header = makeHeader(msgType, 'bench');
    await shell.send(
      encode({ identities: [], header, parent_header: {}, metadata: {}, content, buffers: [] }, signer),
    );
    return header.msg_id;
  };
  // Resend kernel_info until one is answered: nothing is bound the moment the process starts.
  while (!replied) {
    await send('kernel_info_request', {});
    await new Promise((r) => setTimeout(r, 5));
  }
  const startSeconds = (performance.now() - t0) / 1000;
  const idleAfter = async (msgType, content, timeoutMs = 10_000) => {
    let resolve;
    const idle = new Promise((r) => (resolve = r));
    const t = performance.now();
    const id = await send(msgType, content);
    waiting.set(id, resolve);
    const ok = await Promise.race([
      idle.then(() => true),
      new Promise((r) => setTimeout(() => r(false), timeoutMs)),
    ]);
    waiting.delete(id);
    return ok ? performance.now() - t : undefined;
  };
  // iopub subscriptions take a moment to reach the kernel; wait until its statuses arrive.
  while ((await idleAfter('kernel_info_request', {}, 200)) === undefined);
  const roundTrip = async (code) =>
    await idleAfter('execute_request', { code, silent: false, store_history: true });
  const stop = () => {
    shell.close();
    iopub.close();
    child.kill();
  };
  return { startSeconds, roundTrip, stop };
}

const runs = Number(process.argv[2] ?? 5);
const starts = [];
for (let i = 0; i < runs; i++) {
  const k = await startKernel();
  starts.push(k.startSeconds);
  k.stop();
}
const k = await startKernel();
for (let i = 0; i < 50; i++) await k.roundTrip('1');
const cells = [];
for (let i = 0; i < 500; i++) cells.push(await k.roundTrip('1'));
k.stop();
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
console.log(
  JSON.stringify({
    start_s_median: pct(starts, 0.5),
    cell_p50_ms: pct(cells, 0.5),
    cell_p95_ms: pct(cells, 0.95),
  }),
);
process.exit(0);
