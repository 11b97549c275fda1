// Starts the Jupyter kernel: the I/O worker with its shared memory, the evaluator, the kernel.
// Only light modules are imported statically: the I/O worker starts first, and the evaluator (esbuild
// and friends) loads on this thread while the worker boots and binds its sockets.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { log } from './log.js';
import { PROTOCOL_VERSION } from './wire.js';
import type { KernelInfoReply } from './protocol.js';
import {
  PAUSE_BYTES,
  STATE,
  STATE_SLOTS,
  type ConnectionInfo,
  type IoWorkerData,
  type ToMain,
} from './threads.js';
import { VERSION } from './version.js';

export function kernelInfo(): KernelInfoReply {
  return {
    status: 'ok',
    protocol_version: PROTOCOL_VERSION,
    implementation: 'gradbook',
    implementation_version: VERSION,
    language_info: {
      name: 'typescript',
      version: '5.9',
      mimetype: 'text/typescript',
      file_extension: '.ts',
      codemirror_mode: 'text/typescript',
      pygments_lexer: 'typescript',
    },
    banner: `gradbook ${VERSION}: TypeScript cells with a PyTorch-like autograd runtime (Node ${process.version})`,
    help_links: [],
  };
}

export async function launchKernel(connectionFile: string): Promise<void> {
  const connection = JSON.parse(readFileSync(connectionFile, 'utf8')) as ConnectionInfo;
  const shared = {
    state: new SharedArrayBuffer(4 * STATE_SLOTS),
    interrupt: new SharedArrayBuffer(4),
    pause: new SharedArrayBuffer(PAUSE_BYTES),
  };
  const workerData: IoWorkerData = { connection, ...shared, kernelInfo: kernelInfo() };
  const worker = new Worker(new URL('./io-worker.js', import.meta.url), { workerData });
  // Nothing heavy runs on this thread until the sockets are bound: on a two-core machine the
  // evaluator's imports and TypeScript's load (~0.5 s of CPU) would slow the worker's start.
  // Messages that arrive meanwhile are kept and handed to the kernel.
  const early: ToMain[] = [];
  const keep = (m: ToMain) => early.push(m);
  worker.on('message', keep);
  await new Promise<void>((resolve, reject) => {
    const check = (m: ToMain) => {
      if (m.kind !== 'bound') return;
      worker.off('message', check);
      resolve();
    };
    worker.on('message', check);
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('the I/O worker exited before binding its sockets')));
  });
  const [{ CellEvaluator }, { JupyterKernel }] = await Promise.all([
    import('./evaluator.js'),
    import('./kernel.js'),
  ]);
  const evaluator = new CellEvaluator({ interruptFlag: new Int32Array(shared.interrupt) });
  const state = new Int32Array(shared.state);
  // Exiting while the worker's sockets are open aborts the process (DESIGN.md). Every exit, the
  // kernel's own and a cell's process.exit(), first has the worker close them, waiting on shared
  // memory because process.exit cannot wait for an event.
  const exitProcess = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => {
    worker.postMessage({ kind: 'close' });
    Atomics.wait(state, STATE.CLOSED, 0, 3000);
    exitProcess(code);
  }) as typeof process.exit;
  const exit = (code: number) => process.exit(code);
  const kernel = new JupyterKernel({ worker, state, pause: new Uint8Array(shared.pause) }, evaluator, exit);
  worker.off('message', keep);
  worker.on('message', (m: ToMain) => kernel.receive(m));
  for (const m of early) kernel.receive(m);
  // The worker answers kernel_info while this loads; the first cell waits for it if it comes sooner.
  setTimeout(() => evaluator.warmUp(), 0);
  worker.on('error', (err) => {
    log(`I/O worker failed: ${err.stack ?? err.message}`);
    exit(1);
  });
  process.on('SIGINT', () => kernel.interrupt());
  process.on('SIGTERM', () => worker.postMessage({ kind: 'close' }));
}
