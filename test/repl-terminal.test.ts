// The REPL in a real pseudo-terminal (tmux), typed at as a person would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildKernel } from './kernel-harness.js';

const SOCKET = `gradbook-test-${process.pid}`;
const home = mkdtempSync(join(tmpdir(), 'gradbook-repl-'));
const historyFile = join(home, '.gradbook_history');
let session = 0;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

function screen(name: string): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', name);
}

async function waitFor(name: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(name);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startRepl(): Promise<string> {
  const name = `repl${++session}`;
  const env = `HOME=${home} GRADBOOK_HISTORY=${historyFile} TERM=xterm-256color`;
  tmux(
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '150',
    '-y',
    '50',
    `env ${env} node ${BIN} repl; echo "EXIT CODE $?"; sleep 30`,
  );
  await waitFor(name, /^gb> /m);
  return name;
}

/**
 * Types a line and waits until it ran: its echo, then a fresh prompt below it. (A line typed while
 * a cell runs is echoed where the cursor is, not necessarily after a prompt.)
 */
async function enter(name: string, line: string): Promise<string> {
  tmux('send-keys', '-t', name, '-l', line);
  tmux('send-keys', '-t', name, 'Enter');
  const escaped = line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return waitFor(name, new RegExp(`${escaped}\\n[\\s\\S]*^gb> *$`, 'm'));
}

beforeAll(() => {
  buildKernel();
});

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
});

describe('REPL in a terminal', () => {
  it('evaluates TypeScript, continues multi-line input, interrupts with Ctrl-C and leaves with Ctrl-D', async () => {
    const s = await startRepl();
    expect(await enter(s, 'const base: number = 40')).toMatch(/gb> const base: number = 40/);
    await enter(s, 'base + 2');
    expect(screen(s)).toMatch(/^42$/m);

    // An unfinished function asks for more lines with a continuation prompt.
    tmux('send-keys', '-t', s, '-l', 'function inc(n: number) {');
    tmux('send-keys', '-t', s, 'Enter');
    await waitFor(s, /^\.\.\. /m);
    tmux('send-keys', '-t', s, '-l', 'return n + 1 }');
    tmux('send-keys', '-t', s, 'Enter');
    await enter(s, 'inc(base)');
    expect(screen(s)).toMatch(/^41$/m);

    // Ctrl-C stops a running loop; the variables stay.
    tmux('send-keys', '-t', s, '-l', 'while (true) {}');
    tmux('send-keys', '-t', s, 'Enter');
    await new Promise((r) => setTimeout(r, 500));
    tmux('send-keys', '-t', s, 'C-c');
    await waitFor(s, /Interrupted: the cell was interrupted/);
    await enter(s, 'base * 2');
    expect(screen(s)).toMatch(/^80$/m);

    // A loop after an await is out of SIGINT's reach; the key watcher escalates.
    tmux('send-keys', '-t', s, '-l', 'await null; while (true) {}');
    tmux('send-keys', '-t', s, 'Enter');
    await new Promise((r) => setTimeout(r, 500));
    tmux('send-keys', '-t', s, 'C-c');
    await enter(s, 'base + 1');
    expect(screen(s)).toMatch(/^41$/m);

    // A loop of awaits: readline itself reads the Ctrl-C.
    tmux('send-keys', '-t', s, '-l', 'while (true) { await new Promise((r) => setTimeout(r, 5)) }');
    tmux('send-keys', '-t', s, 'Enter');
    await new Promise((r) => setTimeout(r, 500));
    tmux('send-keys', '-t', s, 'C-c');
    await enter(s, 'base + 3');
    expect(screen(s)).toMatch(/^43$/m);

    // A line typed while a cell is busy runs after it.
    tmux('send-keys', '-t', s, '-l', 'const t0 = Date.now(); while (Date.now() - t0 < 800) {}; "busy done"');
    tmux('send-keys', '-t', s, 'Enter');
    await new Promise((r) => setTimeout(r, 200));
    await enter(s, 'base + 4');
    await waitFor(s, /^44$/m);
    expect(screen(s)).toMatch(/'busy done'[\s\S]*^44$/m);

    // Keys typed while a cell awaits keep their order: letters, then Enter, each on its own.
    tmux('send-keys', '-t', s, '-l', 'await new Promise((r) => setTimeout(r, 1200)); "slept"');
    tmux('send-keys', '-t', s, 'Enter');
    await new Promise((r) => setTimeout(r, 300));
    for (const key of ['base', ' + 5']) {
      tmux('send-keys', '-t', s, '-l', key);
      await new Promise((r) => setTimeout(r, 100));
    }
    tmux('send-keys', '-t', s, 'Left', 'Left', 'BSpace');
    tmux('send-keys', '-t', s, '-l', '-');
    await new Promise((r) => setTimeout(r, 100));
    tmux('send-keys', '-t', s, 'Enter');
    await waitFor(s, /^35$/m);
    expect(screen(s)).toMatch(/'slept'[\s\S]*base - 5\n35\n/);

    // The transpiler still works after the interrupts.
    await enter(s, 'const after: string = "still compiling"; after');
    expect(screen(s)).toMatch(/^'still compiling'$/m);

    tmux('send-keys', '-t', s, 'C-d');
    await waitFor(s, /EXIT CODE 0/);
  }, 60_000);

  it('reads input() and the blocking pause from the terminal', async () => {
    const s = await startRepl();
    tmux('send-keys', '-t', s, '-l', 'await input("name? ")');
    tmux('send-keys', '-t', s, 'Enter');
    await waitFor(s, /name\? $/m);
    await enter(s, 'Ada');
    expect(screen(s)).toMatch(/^'Ada'$/m);
    tmux('send-keys', '-t', s, '-l', 'globalThis[Symbol.for("gradbook.pause")]("dbg> ")');
    tmux('send-keys', '-t', s, 'Enter');
    await waitFor(s, /dbg> $/m);
    await enter(s, 'step');
    expect(screen(s)).toMatch(/^'step'$/m);
    tmux('send-keys', '-t', s, 'C-d');
    await waitFor(s, /EXIT CODE 0/);
  }, 60_000);

  it('completes with Tab from the language service and keeps history across sessions', async () => {
    const s = await startRepl();
    await enter(s, 'const lookup = new Map<string, number>()');
    tmux('send-keys', '-t', s, '-l', 'lookup.se');
    tmux('send-keys', '-t', s, 'Tab');
    await waitFor(s, /gb> lookup\.set/, 30_000);
    tmux('send-keys', '-t', s, 'C-u');
    tmux('send-keys', '-t', s, 'C-d');
    await waitFor(s, /EXIT CODE 0/);
    expect(readFileSync(historyFile, 'utf8')).toContain('"const lookup = new Map<string, number>()"');

    const again = await startRepl();
    tmux('send-keys', '-t', again, 'Up');
    await waitFor(again, /gb> const lookup = new Map<string, number>\(\)/);
    tmux('send-keys', '-t', again, 'C-u');
    tmux('send-keys', '-t', again, 'C-d');
    await waitFor(again, /EXIT CODE 0/);
  }, 60_000);
});
