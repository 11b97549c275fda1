// The REPL's key watcher, a worker thread. While a cell runs, the terminal stays in raw mode and
// this thread reads the keys: Ctrl-C interrupts the cell, anything else is handed back to readline
// afterwards as type-ahead. Raw mode means the terminal never sends SIGINT to the whole process
// group (which would kill esbuild's service process), and a thread of our own can escalate to
// terminateExecution when SIGINT cannot stop the cell, exactly as the kernel's I/O worker does.
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { terminateMainThread } from './terminate.js';

/** Indices into the shared control array. */
export const KEYS = {
  /** 1 while a cell runs and this thread owns the terminal's input. */
  WATCH: 0,
  /** Incremented per cell, so a late escalation never hits the next cell. */
  CELL: 1,
} as const;
export const KEYS_SLOTS = 2;

export type KeysMessage = { kind: 'typeahead'; text: string } | { kind: 'interrupted' };

const CTRL_C = 0x03;
const POLL_MS = 15;
const ESCALATE_AFTER_MS = 250;

function main(control: Int32Array): void {
  const port = parentPort!;
  const buf = Buffer.alloc(256);

  const interrupt = () => {
    const cell = Atomics.load(control, KEYS.CELL);
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => {
      if (Atomics.load(control, KEYS.WATCH) !== 1 || Atomics.load(control, KEYS.CELL) !== cell) return;
      terminateMainThread(() => port.postMessage({ kind: 'interrupted' } satisfies KeysMessage));
    }, ESCALATE_AFTER_MS);
  };

  // Polling, not a blocking read: a read still pending when the cell ends would steal the next key
  // from readline.
  const poll = () => {
    while (Atomics.load(control, KEYS.WATCH) === 1) {
      let n: number;
      try {
        n = readSync(0, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw err;
      }
      if (n === 0) break;
      const bytes = buf.subarray(0, n);
      const stop = bytes.indexOf(CTRL_C);
      const kept = stop < 0 ? bytes : Buffer.concat([bytes.subarray(0, stop), bytes.subarray(stop + 1)]);
      if (kept.length > 0)
        port.postMessage({ kind: 'typeahead', text: kept.toString('utf8') } satisfies KeysMessage);
      if (stop >= 0) interrupt();
    }
    setTimeout(poll, POLL_MS);
  };
  poll();
}

if (parentPort && workerData && (workerData as { replKeys?: unknown }).replKeys) {
  main(new Int32Array((workerData as { control: SharedArrayBuffer }).control));
}
