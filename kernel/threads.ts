// What the main thread (user code) and the I/O worker (sockets) say to each other, and the layout
// of the memory they share. See DESIGN.md, "Threads".
import type { Header } from './wire.js';
import type { KernelInfoReply } from './protocol.js';

export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

/** Indices into the shared state Int32Array. */
export const STATE = {
  /** 1 while the main thread runs a cell, so the worker knows an interrupt has something to stop. */
  RUNNING: 0,
  /** Incremented per cell, so a late escalation never hits the next cell. */
  CELL: 1,
  /** Synchronous pause: 0 waiting, 1 answered, 2 interrupted. */
  PAUSE: 2,
  /** Byte length of the answer in the pause buffer. */
  PAUSE_LENGTH: 3,
  /** Set by the worker once every socket is closed: only then may the process exit. */
  CLOSED: 4,
  /** execute_requests forwarded to the main thread and not yet answered. */
  QUEUED: 5,
  /** An interrupt that came before its cell started: the next cell to start is stopped. */
  PENDING_INTERRUPT: 6,
} as const;
export const STATE_SLOTS = 7;
export const PAUSE_ANSWERED = 1;
export const PAUSE_INTERRUPTED = 2;
export const PAUSE_BYTES = 1 << 20;

/** A decoded message as it crosses threads (Buffers arrive as Uint8Arrays). */
export interface WireMessage {
  identities: Uint8Array[];
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Uint8Array[];
}

export type Channel = 'shell' | 'control' | 'iopub' | 'stdin';

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across threads (each
 * thread's performance.timeOrigin differs, their sum with now() does not). stop_on_error compares
 * a request's arrival with the moment a cell failed; Date.now() would tie within a millisecond.
 */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

export type ToMain =
  | { kind: 'request'; channel: 'shell' | 'control'; message: WireMessage; receivedAt: number }
  | { kind: 'input_reply'; value: string }
  /** The worker stopped a cell stuck in JavaScript; the main thread must abandon it. */
  | { kind: 'interrupted' }
  | { kind: 'shutdown'; restart: boolean }
  /** Every socket is bound: the kernel is reachable. */
  | { kind: 'bound' }
  | { kind: 'closed' };

export type ToWorker =
  | {
      kind: 'send';
      channel: Channel;
      msgType: string;
      content: unknown;
      parent: WireMessage | undefined;
      metadata?: Record<string, unknown>;
    }
  | { kind: 'input'; prompt: string; password: boolean; parent: WireMessage; sync: boolean }
  | { kind: 'close' };

export interface IoWorkerData {
  connection: ConnectionInfo;
  state: SharedArrayBuffer;
  interrupt: SharedArrayBuffer;
  pause: SharedArrayBuffer;
  kernelInfo: KernelInfoReply;
}
