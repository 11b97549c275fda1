// The I/O thread: owns every ZeroMQ socket, checks signatures, and answers heartbeat, kernel_info,
// interrupt and shutdown itself, so they are answered while the main thread runs a cell.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import * as zmq from 'zeromq';
import { log } from './log.js';
import { terminateMainThread } from './terminate.js';
import {
  PAUSE_ANSWERED,
  PAUSE_INTERRUPTED,
  STATE,
  type Channel,
  type IoWorkerData,
  type ToMain,
  type ToWorker,
  type WireMessage,
  wallClock,
} from './threads.js';
import { assertNever, replyType, type ReplyContent, type RequestType } from './protocol.js';
import { decode, encode, makeHeader, Signer, type Message } from './wire.js';

const data = workerData as IoWorkerData;
const port = parentPort!;
const state = new Int32Array(data.state);
const interruptFlag = new Int32Array(data.interrupt);
const pauseBytes = new Uint8Array(data.pause);
const signer = new Signer(data.connection.signature_scheme, data.connection.key);
const session = randomUUID();
/** How long a SIGINT gets to stop a cell before the worker terminates the JavaScript outright. */
const ESCALATE_AFTER_MS = 250;

/** zeromq 6 allows one send in flight per socket; this keeps a socket's sends in order. */
class SendQueue {
  #queue: Buffer[][] = [];
  #pumping = false;
  constructor(readonly socket: zmq.Writable) {}

  push(frames: Buffer[]): void {
    this.#queue.push(frames);
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      for (const frames of batch) {
        try {
          await this.socket.send(frames);
        } catch (err) {
          log(`send failed: ${(err as Error).message}`);
        }
      }
    }
    this.#pumping = false;
  }

  async drained(): Promise<void> {
    while (this.#pumping || this.#queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}

const sockets = {
  shell: new zmq.Router(),
  control: new zmq.Router(),
  iopub: new zmq.Publisher(),
  stdin: new zmq.Router(),
  hb: new zmq.Reply(),
};
const queues: Record<Channel, SendQueue> = {
  shell: new SendQueue(sockets.shell),
  control: new SendQueue(sockets.control),
  iopub: new SendQueue(sockets.iopub),
  stdin: new SendQueue(sockets.stdin),
};
let pendingInput: { sync: boolean } | undefined;
let closing = false;

function address(p: number): string {
  const c = data.connection;
  return c.transport === 'ipc' ? `ipc://${c.ip}-${p}` : `tcp://${c.ip}:${p}`;
}

function send(
  channel: Channel,
  msgType: string,
  content: unknown,
  parent?: WireMessage,
  metadata = {},
): void {
  // iopub topics are not routed on; the reply sockets address the requester by its identities.
  const identities =
    channel === 'iopub' ? [Buffer.from(msgType)] : (parent?.identities ?? []).map((i) => Buffer.from(i));
  const message: Message<unknown> = {
    identities,
    header: makeHeader(msgType, session),
    parent_header: parent?.header ?? {},
    metadata,
    content,
    buffers: [],
  };
  queues[channel].push(encode(message, signer));
}

/** Requests the worker answers itself, with busy/idle around them like any other. */
function answerHere(channel: 'shell' | 'control', m: WireMessage): boolean {
  const type = m.header.msg_type;
  if (type !== 'kernel_info_request' && type !== 'interrupt_request' && type !== 'shutdown_request') {
    return false;
  }
  const reply = <K extends RequestType>(k: K, content: ReplyContent<K>) =>
    send(channel, replyType(k), content, m);
  send('iopub', 'status', { execution_state: 'busy' }, m);
  switch (type) {
    case 'kernel_info_request':
      reply(type, data.kernelInfo);
      break;
    case 'interrupt_request':
      interrupt();
      reply(type, { status: 'ok' });
      break;
    case 'shutdown_request': {
      const restart = Boolean(m.content.restart);
      reply(type, { status: 'ok', restart });
      if (Atomics.load(state, STATE.RUNNING) === 1) interrupt();
      post({ kind: 'shutdown', restart });
      break;
    }
    default:
      assertNever(type);
  }
  send('iopub', 'status', { execution_state: 'idle' }, m);
  return true;
}

/**
 * Stops the running cell. SIGINT stops synchronous code (vm's breakOnSigint) and wakes the main
 * thread's handler when the cell is awaiting; when neither happens in time the main thread is
 * spinning in JavaScript outside vm (a loop after an `await`), and only V8's
 * terminateExecution, reached through the inspector, stops that.
 */
function interrupt(): void {
  Atomics.store(interruptFlag, 0, 1);
  if (pendingInput?.sync && Atomics.load(state, STATE.PAUSE) === 0) {
    Atomics.store(state, STATE.PAUSE, PAUSE_INTERRUPTED);
    Atomics.notify(state, STATE.PAUSE);
    pendingInput = undefined;
    return;
  }
  if (Atomics.load(state, STATE.RUNNING) !== 1) {
    // Between receiving a cell and starting it: leave a note the main thread reads as it starts
    // the cell. Re-check after writing it, in case the cell started meanwhile (both sides use
    // sequentially consistent atomics, so one of them sees the other).
    if (Atomics.load(state, STATE.QUEUED) === 0) return;
    Atomics.store(state, STATE.PENDING_INTERRUPT, 1);
    if (Atomics.load(state, STATE.RUNNING) !== 1) return;
  }
  const cell = Atomics.load(state, STATE.CELL);
  process.kill(process.pid, 'SIGINT');
  setTimeout(() => {
    if (Atomics.load(state, STATE.RUNNING) !== 1 || Atomics.load(state, STATE.CELL) !== cell) return;
    log('SIGINT did not stop the cell; terminating its JavaScript');
    terminateMainThread(() => post({ kind: 'interrupted' }));
  }, ESCALATE_AFTER_MS);
}

function post(m: ToMain): void {
  port.postMessage(m);
}

async function serve(channel: 'shell' | 'control', socket: zmq.Router): Promise<void> {
  for await (const frames of socket) {
    try {
      const r = decode(frames, signer);
      if (!r.ok) {
        log(`dropped a ${channel} message: ${r.reason}`);
        continue;
      }
      const m: WireMessage = r.message;
      if (answerHere(channel, m)) continue;
      if (m.header.msg_type === 'execute_request') Atomics.add(state, STATE.QUEUED, 1);
      post({ kind: 'request', channel, message: m, receivedAt: wallClock() });
    } catch (err) {
      // Nothing a client sends may stop the loop that serves every later client.
      log(`error handling a ${channel} message: ${(err as Error).stack}`);
    }
  }
}

async function serveStdin(): Promise<void> {
  for await (const frames of sockets.stdin) {
    const r = decode(frames, signer);
    if (!r.ok) {
      log(`dropped a stdin message: ${r.reason}`);
      continue;
    }
    if (r.message.header.msg_type !== 'input_reply' || !pendingInput) continue;
    const value = String((r.message.content as { value?: unknown }).value ?? '');
    if (pendingInput.sync) {
      const bytes = Buffer.from(value, 'utf8').subarray(0, pauseBytes.length);
      pauseBytes.set(bytes);
      Atomics.store(state, STATE.PAUSE_LENGTH, bytes.length);
      Atomics.store(state, STATE.PAUSE, PAUSE_ANSWERED);
      Atomics.notify(state, STATE.PAUSE);
    } else {
      post({ kind: 'input_reply', value });
    }
    pendingInput = undefined;
  }
}

async function serveHeartbeat(): Promise<void> {
  for await (const frames of sockets.hb) await sockets.hb.send(frames);
}

async function close(): Promise<void> {
  if (closing) return;
  closing = true;
  await Promise.race([
    Promise.all(Object.values(queues).map((q) => q.drained())),
    new Promise((r) => setTimeout(r, 1000)),
  ]);
  for (const s of Object.values(sockets)) s.close();
  Atomics.store(state, STATE.CLOSED, 1);
  Atomics.notify(state, STATE.CLOSED);
  post({ kind: 'closed' });
  port.close();
}

port.on('message', (m: ToWorker) => {
  switch (m.kind) {
    case 'send':
      send(m.channel, m.msgType, m.content, m.parent, m.metadata);
      break;
    case 'input':
      pendingInput = { sync: m.sync };
      send('stdin', 'input_request', { prompt: m.prompt, password: m.password }, m.parent);
      break;
    case 'close':
      void close();
      break;
  }
});

const maxMessageSize = 256 * 1024 * 1024;
for (const s of [sockets.shell, sockets.control, sockets.stdin]) s.maxMessageSize = maxMessageSize;
sockets.shell.linger = sockets.control.linger = sockets.iopub.linger = sockets.stdin.linger = 200;
sockets.hb.linger = 0;
// A PUB socket silently drops messages past its high-water mark (1,000 by default); output must
// arrive whole however fast a cell prints, so iopub queues without limit.
sockets.iopub.sendHighWaterMark = 0;
const c = data.connection;
await Promise.all([
  sockets.shell.bind(address(c.shell_port)),
  sockets.control.bind(address(c.control_port)),
  sockets.iopub.bind(address(c.iopub_port)),
  sockets.stdin.bind(address(c.stdin_port)),
  sockets.hb.bind(address(c.hb_port)),
]);
// Closing a socket ends its loop with an error; that is only news if we were not closing.
const ended = (what: string) => (err: unknown) => {
  if (!closing) log(`${what} loop ended: ${(err as Error).message}`);
};
post({ kind: 'bound' });
serve('shell', sockets.shell).catch(ended('shell'));
serve('control', sockets.control).catch(ended('control'));
serveStdin().catch(ended('stdin'));
serveHeartbeat().catch(ended('heartbeat'));
