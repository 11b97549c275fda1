// The terminal REPL: the same evaluator as the kernel, with readline in front.
import { appendFileSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import { terminal, type OutputSink } from './cell-io.js';
import { CellEvaluator, Interrupted } from './evaluator.js';
import { KEYS, KEYS_SLOTS, TYPEAHEAD_BYTES, type KeysMessage, type KeysShared } from './repl-keys.js';
import { VERSION } from './version.js';

const HISTORY_FILE = process.env.GRADBOOK_HISTORY ?? join(homedir(), '.gradbook_history');
const HISTORY_SIZE = 1000;

export async function startRepl(): Promise<number> {
  const input = process.stdin;
  const tty = Boolean(input.isTTY && process.stdout.isTTY);
  const colors = tty && process.stdout.hasColors?.() === true && !process.env.NO_COLOR;
  const paint = (code: number, text: string) => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const evaluator = new CellEvaluator({ colors, frontend: 'terminal' });
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
  // See repl-keys.ts: while a cell runs, a worker is the only reader of the keys (Ctrl-C,
  // type-ahead); Note [One reader at a time] there.
  const control = new Int32Array(new SharedArrayBuffer(4 * KEYS_SLOTS));
  const typeahead = new Uint8Array(new SharedArrayBuffer(TYPEAHEAD_BYTES));
  const keys = tty
    ? new Worker(new URL('./repl-keys.js', import.meta.url), {
        workerData: { replKeys: true, control: control.buffer, typeahead: typeahead.buffer } satisfies KeysShared,
      })
    : undefined;
  keys?.unref();
  let cellRunning = false;
  keys?.on('message', (m: KeysMessage) => {
    if (m.kind === 'interrupted') evaluator.interrupt();
  });
  const terminalInput = holdableInput(input);
  /** Hands the keys to the watcher: readline stops reading until giveKeysBack. */
  const watchKeys = () => {
    if (!keys) return;
    terminalInput.hold();
    Atomics.add(control, KEYS.CELL, 1);
    Atomics.store(control, KEYS.WATCH, 1);
  };
  /** Stops the watcher and returns what it read, in order, without reading anything further. */
  const stopWatching = (): Buffer => {
    if (!keys) return Buffer.alloc(0);
    Atomics.store(control, KEYS.WATCH, 0);
    while (Atomics.load(control, KEYS.BUSY) === 1) Atomics.wait(control, KEYS.BUSY, 1, 5);
    const length = Atomics.load(control, KEYS.LENGTH);
    const typed = Buffer.from(typeahead.subarray(0, length));
    Atomics.store(control, KEYS.LENGTH, 0);
    return typed;
  };
  /** Gives the keys back to readline, the type-ahead first, as if typed now. */
  const giveKeysBack = (typed: Buffer) => {
    terminalInput.release();
    // Through readline's key decoder, so arrows, Backspace and Enter typed ahead act as keys. One
    // character at a time: readline takes a chunk of several keys for a paste, and a paste that
    // moves the cursor inserts the rest at the wrong place.
    for (const character of typed.toString('utf8')) input.emit('data', Buffer.from(character, 'utf8'));
  };
  const sink: OutputSink = {
    stream: (name, text) => terminal[name](text),
    display: (bundle) => terminal.stdout(String(bundle['text/plain']) + '\n'),
    clearOutput: () => undefined,
    input: (question) => {
      // readline reads the answer itself, so the key watcher steps aside meanwhile; keys typed
      // ahead begin the answer.
      const typed = stopWatching();
      return new Promise((resolve) => {
        rl.question(question, (answer) => {
          watchKeys();
          resolve(answer);
        });
        giveKeysBack(typed);
      });
    },
    pause: (question) => {
      // A blocking read in cooked mode: the terminal echoes and edits the line itself. Keys typed
      // ahead begin the answer; a whole line typed ahead is the answer.
      let typed = stopWatching().toString('utf8');
      setRaw(false);
      terminal.stdout(question);
      try {
        const newline = typed.search(/[\r\n]/);
        if (newline >= 0) {
          terminal.stdout(typed.slice(0, newline) + '\n');
          const answer = typed.slice(0, newline);
          typed = typed.slice(newline + 1);
          return answer;
        }
        terminal.stdout(typed);
        const answer = typed + readLineSync();
        typed = '';
        return answer;
      } finally {
        setRaw(true);
        // What was typed beyond the answer goes back where the watcher keeps it.
        const rest = Buffer.from(typed, 'utf8').subarray(0, TYPEAHEAD_BYTES);
        typeahead.set(rest, 0);
        Atomics.store(control, KEYS.LENGTH, rest.length);
        Atomics.add(control, KEYS.CELL, 1);
        Atomics.store(control, KEYS.WATCH, 1);
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
    watchKeys();
    cellRunning = true;
    const outcome = await evaluator.execute(code, sink, { executionCount: ++count });
    cellRunning = false;
    const typed = stopWatching();
    if (outcome.status === 'ok' && outcome.result)
      terminal.stdout(String(outcome.result['text/plain']) + '\n');
    if (outcome.status === 'error') {
      const [head, ...frames] = outcome.traceback;
      terminal.stderr(paint(31, head ?? `${outcome.ename}: ${outcome.evalue}`) + '\n');
      if (outcome.ename !== Interrupted.name && frames.length)
        terminal.stderr(paint(90, frames.join('\n')) + '\n');
    }
    if (lines.length === 0) prompt();
    giveKeysBack(typed);
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

/**
 * Stops and restarts the terminal's reads underneath readline. Pausing the stream is not enough: a
 * paused TTY stream goes on reading into its buffer, and those keys would then come after the ones
 * the watcher read (Note [One reader at a time] in repl-keys.ts). So this reaches the stream's
 * handle, as net.Socket's own pause() does for sockets that read into a buffer of their own.
 */
function holdableInput(input: NodeJS.ReadStream): { hold(): void; release(): void } {
  type Handle = { reading: boolean; readStop(): number; readStart(): number };
  let held = false;
  const handle = () => (input as unknown as { _handle?: Handle })._handle;
  return {
    hold() {
      const h = handle();
      if (!h || !h.reading || input.destroyed) return;
      h.reading = false;
      h.readStop();
      held = true;
    },
    release() {
      const h = handle();
      if (!held) return;
      held = false;
      if (!h || h.reading || input.destroyed) return;
      h.reading = true;
      h.readStart();
    },
  };
}
