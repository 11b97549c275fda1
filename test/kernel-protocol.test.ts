// The kernel's request→reply logic with a fake evaluator and a fake I/O worker: no sockets, no
// TypeScript, just what goes out for what comes in.
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { OutputSink } from '../kernel/cell-io.js';
import type { Evaluator, ExecuteOutcome } from '../kernel/evaluator.js';
import { JupyterKernel } from '../kernel/kernel.js';
import { STATE, STATE_SLOTS, type ToWorker, type WireMessage, wallClock } from '../kernel/threads.js';

class FakeWorker extends EventEmitter {
  readonly sent: ToWorker[] = [];
  postMessage(m: ToWorker): void {
    this.sent.push(m);
  }
}

/** Runs `code` as: 'print:TEXT', 'fail', or anything else, which becomes the text/plain result. */
class FakeEvaluator implements Evaluator {
  readonly ran: string[] = [];
  running = false;
  async execute(code: string, sink: OutputSink): Promise<ExecuteOutcome> {
    this.ran.push(code);
    if (code.startsWith('print:')) sink.stream('stdout', code.slice(6));
    if (code === 'fail')
      return { status: 'error', ename: 'Error', evalue: 'failed', traceback: ['Error: failed'] };
    return { status: 'ok', result: code.startsWith('print:') ? undefined : { 'text/plain': code } };
  }
  async evaluateExpression(code: string): Promise<ExecuteOutcome> {
    return { status: 'ok', result: { 'text/plain': `expr ${code}` } };
  }
  async ready(): Promise<void> {}
  interrupt(): boolean {
    return false;
  }
  async complete(code: string, cursor: number) {
    // Everything from the last space to the cursor is the word being completed.
    const start = code.lastIndexOf(' ', cursor - 1) + 1;
    return { matches: ['match'], cursorStart: start, cursorEnd: cursor, types: [] };
  }
  async inspect() {
    return { found: true, data: { 'text/plain': 'doc' } };
  }
  isComplete(code: string) {
    return { status: code.endsWith('{') ? ('incomplete' as const) : ('complete' as const) };
  }
}

let msgId = 0;
function request(msgType: string, content: Record<string, unknown>, channel: 'shell' | 'control' = 'shell') {
  const message: WireMessage = {
    identities: [new Uint8Array([1])],
    header: {
      msg_id: `m${++msgId}`,
      session: 's',
      username: 'u',
      date: '',
      msg_type: msgType,
      version: '5.3',
    },
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
  return { kind: 'request' as const, channel, message, receivedAt: wallClock() };
}

function setup(overrides: Partial<Evaluator> = {}) {
  const worker = new FakeWorker();
  const evaluator = Object.assign(new FakeEvaluator(), overrides);
  const state = new Int32Array(new SharedArrayBuffer(4 * STATE_SLOTS));
  const kernel = new JupyterKernel(
    { worker: worker as unknown as Worker, state, pause: new Uint8Array(16) },
    evaluator,
    () => undefined,
  );
  worker.on('message', (m) => kernel.receive(m));
  const deliver = async (...msgs: ReturnType<typeof request>[]) => {
    for (const m of msgs) {
      if (m.message.header.msg_type === 'execute_request') Atomics.add(state, STATE.QUEUED, 1);
      worker.emit('message', m);
    }
    // Let the kernel's queue drain.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  const sends = () =>
    worker.sent.flatMap((m) =>
      m.kind === 'send'
        ? [
            {
              channel: m.channel,
              type: m.msgType,
              content: m.content as any,
              parent: m.parent?.header.msg_id,
            },
          ]
        : [],
    );
  return { kernel, worker, evaluator, state, deliver, sends };
}

describe('kernel request handling', () => {
  it('wraps an execute in busy/idle with execute_input, result and a reply to the same request', async () => {
    const { deliver, sends } = setup();
    const req = request('execute_request', { code: '40 + 2' });
    await deliver(req);
    expect(sends().map((s) => [s.channel, s.type])).toEqual([
      ['iopub', 'status'],
      ['iopub', 'execute_input'],
      ['iopub', 'execute_result'],
      ['shell', 'execute_reply'],
      ['iopub', 'status'],
    ]);
    expect(sends().every((s) => s.parent === req.message.header.msg_id)).toBe(true);
    expect(sends()[3]!.content).toMatchObject({ status: 'ok', execution_count: 1 });
  });

  it('answers every request type with its own reply type', async () => {
    const { deliver, sends } = setup();
    const requests = [
      request('comm_info_request', {}),
      request('complete_request', { code: 'ab', cursor_pos: 2 }),
      request('inspect_request', { code: 'ab', cursor_pos: 2 }),
      request('is_complete_request', { code: 'f() {' }),
      request('history_request', { hist_access_type: 'tail', n: 1 }),
    ];
    await deliver(...requests);
    // Completion and inspection do not hold up the queue (Note [language thread]), so replies may
    // come in another order than the requests; each answers its own request.
    const replies = new Map(sends().filter((s) => s.channel === 'shell').map((s) => [s.parent, s.type]));
    expect(requests.map((r) => replies.get(r.message.header.msg_id))).toEqual([
      'comm_info_reply',
      'complete_reply',
      'inspect_reply',
      'is_complete_reply',
      'history_reply',
    ]);
  });

  it('answers a cell queued behind a completion without waiting for the language service', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    const { deliver, sends } = setup({
      complete: async () => {
        await slow;
        return { matches: ['late'], cursorStart: 0, cursorEnd: 0, types: [] };
      },
    });
    const completion = request('complete_request', { code: 'x', cursor_pos: 1 });
    const cell = request('execute_request', { code: '1' });
    await deliver(completion, cell);
    const shell = () => sends().filter((s) => s.channel === 'shell').map((s) => s.parent);
    expect(shell()).toEqual([cell.message.header.msg_id]);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(shell()).toEqual([cell.message.header.msg_id, completion.message.header.msg_id]);
  });

  it('counts cursor positions in code points, as protocol 5.2+ says', async () => {
    const { deliver, sends } = setup();
    // '😀' is one code point but two UTF-16 units.
    await deliver(request('complete_request', { code: '😀 ab', cursor_pos: 4 }));
    expect(sends().find((s) => s.type === 'complete_reply')!.content).toMatchObject({
      cursor_start: 2,
      cursor_end: 4,
    });
  });

  it('still replies to a complete_request that lacks code and cursor_pos', async () => {
    const { deliver, sends } = setup();
    await deliver(request('complete_request', {}), request('inspect_request', { code: 42 }));
    expect(
      sends()
        .filter((s) => s.channel === 'shell')
        .map((s) => s.type),
    ).toEqual(['complete_reply', 'inspect_reply']);
  });

  it('aborts cells queued before an error when stop_on_error is set, and runs later ones', async () => {
    const { deliver, sends, evaluator } = setup();
    await deliver(
      request('execute_request', { code: 'fail' }),
      request('execute_request', { code: 'queued' }),
    );
    await deliver(request('execute_request', { code: 'later' }));
    const replies = sends()
      .filter((s) => s.type === 'execute_reply')
      .map((s) => s.content.status);
    expect(replies).toEqual(['error', 'aborted', 'ok']);
    expect(evaluator.ran).toEqual(['fail', 'later']);
  });

  it('does not count or echo silent cells', async () => {
    const { deliver, sends } = setup();
    await deliver(
      request('execute_request', { code: 'quiet', silent: true }),
      request('execute_request', { code: 'loud' }),
    );
    expect(
      sends()
        .filter((s) => s.type === 'execute_input')
        .map((s) => s.content.code),
    ).toEqual(['loud']);
    expect(sends().filter((s) => s.type === 'execute_result')).toHaveLength(1);
    expect(
      sends()
        .filter((s) => s.type === 'execute_reply')
        .map((s) => s.content.execution_count),
    ).toEqual([0, 1]);
  });

  it('evaluates user_expressions after a successful cell', async () => {
    const { deliver, sends } = setup();
    await deliver(request('execute_request', { code: 'x', user_expressions: { a: '1 + 1' } }));
    expect(sends().find((s) => s.type === 'execute_reply')!.content.user_expressions).toEqual({
      a: { status: 'ok', data: { 'text/plain': 'expr 1 + 1' }, metadata: {} },
    });
  });

  it('stops the next cell when an interrupt arrived before it started', async () => {
    const { deliver, sends, evaluator, state } = setup();
    Atomics.store(state, STATE.PENDING_INTERRUPT, 1);
    await deliver(request('execute_request', { code: 'never runs' }));
    expect(evaluator.ran).toEqual([]);
    expect(sends().find((s) => s.type === 'execute_reply')!.content).toMatchObject({
      status: 'error',
      ename: 'Interrupted',
    });
    expect(Atomics.load(state, STATE.QUEUED)).toBe(0);
  });

  it('ignores unknown message types and keeps serving', async () => {
    const { deliver, sends } = setup();
    await deliver(request('no_such_request', {}), request('execute_request', { code: 'after' }));
    expect(sends().filter((s) => s.type === 'execute_reply')).toHaveLength(1);
  });

  it('opens comms to registered targets and closes those to unknown targets', async () => {
    const { deliver, sends, kernel } = setup();
    const got: unknown[] = [];
    kernel.comms.registerTarget('t', (comm, data) => {
      got.push(data);
      comm.onMessage = (d) => comm.send({ back: d });
    });
    await deliver(
      request('comm_open', { comm_id: 'c1', target_name: 't', data: { hi: 1 } }),
      request('comm_msg', { comm_id: 'c1', data: 5 }),
      request('comm_open', { comm_id: 'c2', target_name: 'nobody', data: {} }),
    );
    expect(got).toEqual([{ hi: 1 }]);
    const comms = sends().filter((s) => s.type.startsWith('comm_'));
    expect(comms.map((s) => [s.type, s.content])).toEqual([
      ['comm_msg', { comm_id: 'c1', data: { back: 5 } }],
      ['comm_close', { comm_id: 'c2', data: {} }],
    ]);
  });
});
