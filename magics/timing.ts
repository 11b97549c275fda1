// %time, %%time and %timeit, printing as IPython does.
import { magicRegistry } from '../kernel/magics-registry.js';

magicRegistry.register({
  name: 'time',
  kind: 'line',
  help: '%time CODE runs the code once and prints the wall time',
  run: async ({ args, host }) => timed(args, host),
});

magicRegistry.register({
  name: 'time',
  kind: 'cell',
  help: '%%time runs the cell once and prints the wall time',
  run: async ({ body, host }) => timed(body, host),
});

magicRegistry.register({
  name: 'timeit',
  kind: 'line',
  help: '%timeit [-n N] [-r R] CODE: mean ± std. dev. per loop, loop count chosen automatically',
  run: async ({ args, host }) => {
    const opts = /^((?:-[nr]\s*\d+\s+)*)([\s\S]*)$/.exec(args)!;
    const n = /-n\s*(\d+)/.exec(opts[1]!)?.[1];
    const r = /-r\s*(\d+)/.exec(opts[1]!)?.[1];
    const code = opts[2]!.trim();
    if (!code) throw new Error('usage: %timeit [-n N] [-r R] CODE');
    const fn = await host.compile(code);
    const result = await timeit(fn, { loops: n ? Number(n) : undefined, repeat: r ? Number(r) : 7 });
    host.print(formatTimeit(result));
  },
});

async function timed(
  code: string,
  host: { run(code: string): Promise<unknown>; print(t: string): void },
): Promise<unknown> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    return await host.run(code);
  } finally {
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const user = cpu.user / 1e6;
    const sys = cpu.system / 1e6;
    host.print(
      `CPU times: user ${formatTime(user)}, sys: ${formatTime(sys)}, total: ${formatTime(user + sys)}\nWall time: ${formatTime(wall)}`,
    );
  }
}

export interface TimeitResult {
  /** Seconds per loop, one entry per run. */
  perLoop: number[];
  loops: number;
}

/**
 * IPython's auto-ranging: try 1, 2, 5, 10, 20, 50 ... loops until one run takes at least 0.2 s,
 * then time `repeat` runs of that many loops.
 */
export async function timeit(
  fn: () => unknown,
  options: { loops?: number; repeat: number },
): Promise<TimeitResult> {
  const runOnce = async (loops: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < loops; i++) {
      const r = fn();
      if (r instanceof Promise) await r;
    }
    return (performance.now() - t0) / 1000;
  };
  let loops = options.loops ?? 0;
  if (!loops) {
    outer: for (let scale = 1; ; scale *= 10) {
      for (const m of [1, 2, 5]) {
        loops = m * scale;
        if ((await runOnce(loops)) >= 0.2) break outer;
      }
    }
  }
  const perLoop: number[] = [];
  for (let i = 0; i < options.repeat; i++) perLoop.push((await runOnce(loops)) / loops);
  return { perLoop, loops };
}

export function formatTimeit({ perLoop, loops }: TimeitResult): string {
  const mean = perLoop.reduce((a, b) => a + b, 0) / perLoop.length;
  const std = Math.sqrt(perLoop.reduce((a, b) => a + (b - mean) ** 2, 0) / perLoop.length);
  const runs = perLoop.length;
  return (
    `${formatTime(mean)} ± ${formatTime(std)} per loop ` +
    `(mean ± std. dev. of ${runs} run${runs === 1 ? '' : 's'}, ${loops.toLocaleString('en-US')} loop${loops === 1 ? '' : 's'} each)`
  );
}

/** IPython's _format_time: three significant digits and the largest unit that keeps them >= 1. */
export function formatTime(seconds: number): string {
  if (seconds >= 60) {
    const parts: string[] = [];
    let left = seconds;
    for (const [suffix, len] of [
      ['d', 86400],
      ['h', 3600],
      ['min', 60],
      ['s', 1],
    ] as const) {
      const value = Math.floor(left / len);
      if (value > 0) {
        left %= len;
        parts.push(`${value}${suffix}`);
      }
    }
    return parts.join(' ');
  }
  const units = ['s', 'ms', 'µs', 'ns'];
  let order = seconds > 0 ? Math.min(Math.max(-Math.floor(Math.log10(seconds) / 3), 0), 3) : 3;
  const scaled = seconds * 1000 ** order;
  return `${formatSignificant(scaled, 3)} ${units[order]}`;
}

function formatSignificant(x: number, digits: number): string {
  // Python's '%.3g': no exponent here since x is in [1, 1000) after scaling (or 0).
  return Number(x.toPrecision(digits)).toString();
}
