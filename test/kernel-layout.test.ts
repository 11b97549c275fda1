import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './kernel-harness.js';

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(
      /\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\bimport\s+['"]([^'"]+)['"]/g,
    ),
  ];
  return specifiers.map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('kernel layout', () => {
  it('kernel/ never imports runtime/ or magics/', () => {
    const dir = join(ROOT, 'kernel');
    const offenders: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      for (const spec of importsOf(join(dir, f))) {
        if (/(^|\/)(runtime|magics)(\/|$)/.test(spec) || spec === 'gradbook')
          offenders.push(`${f} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('kernel/ and magics/ files stay under 600 lines', () => {
    const long: string[] = [];
    for (const d of ['kernel', 'magics']) {
      for (const f of readdirSync(join(ROOT, d)).filter((n) => n.endsWith('.ts'))) {
        const lines = readFileSync(join(ROOT, d, f), 'utf8').split('\n').length;
        if (lines > 600) long.push(`${d}/${f}: ${lines}`);
      }
    }
    expect(long).toEqual([]);
  });
});
