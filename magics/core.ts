// %lsmagic, %who, %whos, %env, %cd, %%writefile, %load, %typecheck.
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { magicRegistry, type Magic } from '../kernel/magics-registry.js';

const magics: Magic[] = [
  {
    name: 'lsmagic',
    kind: 'line',
    help: 'list the available magics',
    run: ({ host }) => {
      const lines = magicRegistry
        .list()
        .map((m) => `${m.kind === 'line' ? '%' : '%%'}${m.name}`.padEnd(14) + m.help);
      host.print(`Available magics:\n${lines.join('\n')}`);
    },
  },
  {
    name: 'who',
    kind: 'line',
    help: 'names of the variables cells declared',
    run: ({ host }) => {
      const names = host.variables().map(([n]) => n);
      host.print(names.length ? names.join('\t') : 'Interactive namespace is empty.');
    },
  },
  {
    name: 'whos',
    kind: 'line',
    help: 'variables cells declared, with their types and values',
    run: ({ host }) => {
      const rows = host.variables().map(([n, v]) => [n, typeName(v), summary(v)] as const);
      if (rows.length === 0) return host.print('Interactive namespace is empty.');
      const w0 = Math.max(8, ...rows.map((r) => r[0].length));
      const w1 = Math.max(4, ...rows.map((r) => r[1].length));
      const out = [`${'Variable'.padEnd(w0)}   ${'Type'.padEnd(w1)}   Data/Info`, '-'.repeat(w0 + w1 + 18)];
      for (const [n, t, s] of rows) out.push(`${n.padEnd(w0)}   ${t.padEnd(w1)}   ${s}`);
      host.print(out.join('\n'));
    },
  },
  {
    name: 'env',
    kind: 'line',
    help: '%env lists the environment; %env NAME shows one; %env NAME=VALUE or NAME VALUE sets one',
    run: ({ args }) => {
      if (!args) return { ...process.env };
      const m = /^([^=\s]+)\s*(?:=\s*|\s+)(.*)$/.exec(args);
      if (!m) return process.env[args];
      process.env[m[1]!] = m[2]!;
      return undefined;
    },
  },
  {
    name: 'cd',
    kind: 'line',
    help: 'change the working folder (imports resolve from it); prints the new one',
    run: ({ args, host }) => {
      const target = args ? resolve(expandHome(args)) : (process.env.HOME ?? process.cwd());
      process.chdir(target);
      host.print(process.cwd());
    },
  },
  {
    name: 'writefile',
    kind: 'cell',
    help: '%%writefile [-a] FILE writes (or appends) the cell body to FILE',
    run: ({ args, body, host }) => {
      const append = /^-a\s+/.test(args);
      const file = args.replace(/^-a\s+/, '').trim();
      if (!file) throw new Error('%%writefile needs a file name');
      const text = body.endsWith('\n') ? body : body + '\n';
      if (append) appendFileSync(file, text);
      else writeFileSync(file, text);
      host.print(`${append ? 'Appended to' : 'Writing'} ${file}`);
    },
  },
  {
    name: 'load',
    kind: 'line',
    help: '%load FILE runs the file as a cell',
    run: async ({ args, host }) => {
      if (!args) throw new Error('%load needs a file name');
      return host.run(readFileSync(resolve(expandHome(args)), 'utf8'));
    },
  },
  {
    name: 'typecheck',
    kind: 'line',
    help: '%typecheck on|off: check each cell with the TypeScript checker before running it',
    run: ({ args, host }) => {
      if (args === 'on' || args === 'off') host.typecheck.enabled = args === 'on';
      else if (args !== '') throw new Error('usage: %typecheck on|off');
      host.print(`type checking is ${host.typecheck.enabled ? 'on' : 'off'}`);
    },
  },
];

for (const m of magics) magicRegistry.register(m);

function expandHome(p: string): string {
  return p.startsWith('~') ? (process.env.HOME ?? '~') + p.slice(1) : p;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'function')
    return /^class\b/.test(Function.prototype.toString.call(v)) ? 'class' : 'function';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'Object';
  return typeof v;
}

function summary(v: unknown): string {
  const text = inspect(v, { depth: 0, breakLength: Infinity, maxArrayLength: 10 });
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
