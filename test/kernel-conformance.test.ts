// Jupyter's own conformance suite, jupyter_kernel_test, against the real kernel
// (test/kernel_conformance.py). Each of its checks is one test here.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildKernel, buildRuntime, PYTHON, ROOT } from './kernel-harness.js';

const CHECKS = [
  'kernel_info',
  'execute_stdout',
  'execute_stderr',
  'execute_result',
  'display_data',
  'error',
  'completion',
  'is_complete',
  'inspect',
  'clear_output',
  'history',
];

let verdicts: Map<string, string>;
let log = '';

beforeAll(() => {
  buildKernel();
  buildRuntime();
  const out = spawnSync(PYTHON, [join(ROOT, 'test', 'kernel_conformance.py'), BIN], {
    encoding: 'utf8',
    timeout: 170_000,
  });
  log = `${out.stdout}\n${out.stderr}`;
  if (/No module named 'jupyter_kernel_test'/.test(log))
    throw new Error('/usr/bin/python3 lacks jupyter_kernel_test (apt install python3-jupyter-kernel-test)');
  // unittest's verbose lines: "test_history (__main__.GradbookKernelTests.test_history) ... ok"
  verdicts = new Map(
    [...log.matchAll(/^test_(\w+) \(.*?\) \.\.\. (\w+)/gm)].map((m) => [m[1]!, m[2]!] as [string, string]),
  );
}, 180_000);

describe("jupyter_kernel_test's KernelTests", () => {
  it.each(CHECKS)('passes test_%s', (check) => {
    expect(verdicts.get(check), log).toBe('ok');
  });

  it('fails nowhere in the suite', () => {
    expect(log).toMatch(/^OK\b/m);
  });
});
