// The terminal REPL: the same evaluator as the kernel, with readline in front.
import { appendFileSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import { terminal, type OutputSink } from './cell-io.js';
import { CellEvaluator, Interrupted } from './evaluator.js';
import { KEYS, KEYS_SLOTS, type KeysMessage } from './repl-keys.js';
import { VERSION } from './version.js';

const HISTORY_FILE = process.env.GRADBOOK_HISTORY ?? join(homedir(), '.gradbook_history');
const HISTORY_SIZE = 1000;

export async function startRepl(): Promise<number> {
  const input = process.stdin;
  const tty = Boolean(input.isTTY && process.stdout.isTTY);
  const colors = tty && process.stdout.hasColors?.() === true && !process.env.NO_COLOR;
  const paint = (code: number, text: string) => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const evaluator = new CellEvaluator({ colors });
  evaluator.warmUp();
  let buffer = '';
  let count = 0;
  const rl = readline.createInterface({
    input,
    output: process.stdout,
    terminal: tty,
    history: loadHistory(),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string, callback: (err: Error | null, result: [string[], string]) => void) => {
      const code = buffer + line;
      evaluator.complete(code, code.length).then(
        (c) => callback(null, [c.matches, code.slice(c.cursorStart, c.cursorEnd)]),
        () => callback(null, [[], line]),
      );
    },
  });
  const prompt = () => {
    rl.setPrompt(buffer ? paint(90, '... ') : paint(32, 'gb> '));
    rl.prompt();
  };
  const setRaw = (on: boolean) => {
    if (tty && input.setRawMode) input.setRawMode(on);
  };
  // See repl-keys.ts: while a cell runs, a worker reads the keys (Ctrl-C, type-ahead).
  const control = new Int32Array(new SharedArrayBuffer(4 * KEYS_SLOTS));
  const keys = tty
    ? new Worker(new URL('./repl-keys.js', import.meta.url), {
        workerData: { replKeys: true, control: control.buffer },
      })
    : undefined;
  keys?.unref();
  let cellRunning = false;
  keys?.on('message', (m: KeysMessage) => {
    if (m.kind === 'interrupted') evaluator.interrupt();
    // Keys the watcher read while this thread was busy: readline takes them as typed now, and a
    // finished line waits in its queue until the cell is done.
    else rl.write(m.text);
  });
  const watchKeys = (on: boolean) => {
    if (!keys) return;
    if (on) Atomics.add(control, KEYS.CELL, 1);
    Atomics.store(control, KEYS.WATCH, on ? 1 : 0);
  };
  const sink: OutputSink = {
    stream: (name, text) => terminal[name](text),
    display: (bundle) => terminal.stdout(String(bundle['text/plain']) + '\n'),
    clearOutput: () => undefined,
    input: (question) => {
      // readline reads the answer itself, so the key watcher steps aside meanwhile.
      watchKeys(false);
      return new Promise((resolve) =>
        rl.question(question, (answer) => {
          watchKeys(true);
          resolve(answer);
        }),
      );
    },
    pause: (question) => {
      // A blocking read in cooked mode: the terminal echoes and edits the line itself.
      watchKeys(false);
      setRaw(false);
      terminal.stdout(question);
      try {
        return readLineSync();
      } finally {
        setRaw(true);
        watchKeys(true);
      }
    },
  };
  process.on('SIGINT', () => evaluator.interrupt());
  rl.on('SIGINT', () => {
    // The cell awaits, so this thread read the Ctrl-C itself (a busy thread leaves it to the
    // key watcher).
    if (cellRunning) {
      evaluator.interrupt();
      return;
    }
    // Ctrl-C while editing clears the input, as in Node's REPL and IPython.
    if (buffer || rl.line) terminal.stdout('^C\n');
    else terminal.stdout(paint(90, '(To exit, press Ctrl-D)') + '\n');
    buffer = '';
    rl.write(null, { ctrl: true, name: 'u' });
    prompt();
  });
  terminal.stdout(`gradbook ${VERSION} REPL (TypeScript). Ctrl-D leaves, %lsmagic lists magics.\n`);
  prompt();
  // Lines typed while a cell runs wait here; their echo is already on screen, so no prompt is
  // printed for them.
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  rl.on('line', (line) => {
    lines.push(line);
    wake?.();
  });
  rl.on('close', () => {
    closed = true;
    wake?.();
  });
  const nextLine = async (): Promise<string | undefined> => {
    while (lines.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
    return lines.shift();
  };
  for (let line = await nextLine(); line !== undefined; line = await nextLine()) {
    buffer += (buffer ? '\n' : '') + line;
    const state = evaluator.isComplete(buffer);
    if (state.status === 'incomplete') {
      // No auto-indent: text written into the line races with keys already typed ahead.
      if (lines.length === 0) prompt();
      continue;
    }
    const code = buffer;
    buffer = '';
    if (code.trim() === '') {
      if (lines.length === 0) prompt();
      continue;
    }
    saveHistory(code);
    // readline keeps reading while the cell runs (raw mode, so Ctrl-C is a key, not a signal to
    // the whole process group): type-ahead queues, Ctrl-C interrupts. See repl-keys.ts for when
    // this thread is too busy to read.
    watchKeys(true);
    cellRunning = true;
    const outcome = await evaluator.execute(code, sink, { executionCount: ++count });
    cellRunning = false;
    watchKeys(false);
    if (outcome.status === 'ok' && outcome.result)
      terminal.stdout(String(outcome.result['text/plain']) + '\n');
    if (outcome.status === 'error') {
      const [head, ...frames] = outcome.traceback;
      terminal.stderr(paint(31, head ?? `${outcome.ename}: ${outcome.evalue}`) + '\n');
      if (outcome.ename !== Interrupted.name && frames.length)
        terminal.stderr(paint(90, frames.join('\n')) + '\n');
    }
    if (lines.length === 0) prompt();
  }
  terminal.stdout('\n');
  await keys?.terminate();
  return 0;
}

function loadHistory(): string[] {
  try {
    // readline wants the newest entry first; the file keeps them oldest first, one JSON string a line.
    return readFileSync(HISTORY_FILE, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string)
      .reverse()
      .slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function saveHistory(entry: string): void {
  try {
    appendFileSync(HISTORY_FILE, JSON.stringify(entry) + '\n');
  } catch {
    // A read-only home must not break the REPL.
  }
}

/** Reads one line from the terminal without returning to the event loop (the synchronous pause). */
function readLineSync(): string {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n: number;
    try {
      n = readSync(0, one, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(nap, 0, 0, 10);
        continue;
      }
      throw err;
    }
    if (n === 0 || one[0] === 0x0a) break;
    if (one[0] !== 0x0d) bytes.push(one[0]!);
  }
  return Buffer.from(bytes).toString('utf8');
}
