// The REPL's key watcher, a worker thread. While a cell runs, the terminal stays in raw mode and
// this thread is the only reader of its input: Ctrl-C interrupts the cell, anything else is kept
// as type-ahead in shared memory, which the main thread hands to readline once the cell is done.
// Raw mode means the terminal never sends SIGINT to the whole process group (which would kill
// esbuild's service process), and a thread of our own can escalate to terminateExecution when
// SIGINT cannot stop the cell, exactly as the kernel's I/O worker does.
//
// Note [One reader at a time]: the main thread stops its own reads of the terminal before it
// raises WATCH, and lowers WATCH, waits for BUSY to fall and takes the type-ahead before it reads
// again. Two readers at once would split what was typed between them and reorder it (a line typed
// during an awaiting cell lost its Enter to readline while its letters waited here).
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { terminateMainThread } from './terminate.js';

/** Indices into the shared control array. */
export const KEYS = {
  /** 1 while a cell runs and this thread owns the terminal's input. */
  WATCH: 0,
  /** Incremented per cell, so a late escalation never hits the next cell. */
  CELL: 1,
  /** 1 while this thread is between checking WATCH and storing what it read. */
  BUSY: 2,
  /** Bytes of type-ahead waiting in the shared buffer. */
  LENGTH: 3,
} as const;
export const KEYS_SLOTS = 4;
/** Type-ahead held at most; beyond it, keys stay in the terminal until readline reads them. */
export const TYPEAHEAD_BYTES = 64 * 1024;

export type KeysMessage = { kind: 'interrupted' };

export interface KeysShared {
  replKeys: true;
  control: SharedArrayBuffer;
  typeahead: SharedArrayBuffer;
}

const CTRL_C = 0x03;
const POLL_MS = 15;
const ESCALATE_AFTER_MS = 250;

function main(control: Int32Array, typeahead: Uint8Array): void {
  const port = parentPort!;

  const interrupt = () => {
    const cell = Atomics.load(control, KEYS.CELL);
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => {
      if (Atomics.load(control, KEYS.WATCH) !== 1 || Atomics.load(control, KEYS.CELL) !== cell) return;
      terminateMainThread(() => port.postMessage({ kind: 'interrupted' } satisfies KeysMessage));
    }, ESCALATE_AFTER_MS);
  };

  /** One non-blocking read into the type-ahead; false when there was nothing to read. */
  const readOnce = (): boolean => {
    const length = Atomics.load(control, KEYS.LENGTH);
    const room = typeahead.length - length;
    if (room === 0) return false;
    const chunk = Buffer.alloc(Math.min(room, 4096));
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false;
      throw err;
    }
    if (n === 0) return false;
    let stop = false;
    let end = length;
    for (const byte of chunk.subarray(0, n)) {
      if (byte === CTRL_C) stop = true;
      else typeahead[end++] = byte;
    }
    Atomics.store(control, KEYS.LENGTH, end);
    if (stop) interrupt();
    return true;
  };

  // Polling, not a blocking read: a read still pending when the cell ends would steal the next key
  // from readline.
  const poll = () => {
    for (;;) {
      Atomics.store(control, KEYS.BUSY, 1);
      const more = Atomics.load(control, KEYS.WATCH) === 1 && readOnce();
      Atomics.store(control, KEYS.BUSY, 0);
      Atomics.notify(control, KEYS.BUSY);
      if (!more) break;
    }
    setTimeout(poll, POLL_MS);
  };
  poll();
}

const shared = workerData as Partial<KeysShared> | undefined;
if (parentPort && shared?.replKeys && shared.control && shared.typeahead) {
  main(new Int32Array(shared.control), new Uint8Array(shared.typeahead));
}
