import { expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import type { Tensor } from '../runtime/index.js';

test('tidy frees what it made except the result, its graph and kept tensors', () => {
  const x = gb.tensor([1, 2, 3], { requiresGrad: true });
  let inner: Tensor | null = null;
  let kept: Tensor | null = null;
  const out = gb.tidy(() => {
    inner = x.mul(2);
    kept = gb.keep(x.add(1));
    return inner.exp().sum();
  });
  // inner is saved by the graph of out, so it survives; backward still works
  out.backward();
  expect(x.grad!.numel()).toBe(3);
  const junk = gb.tidy(() => {
    const t = x.mul(3);
    t.sum();
    return 1;
  });
  expect(junk).toBe(1);
  expect(kept!.toArray()).toEqual([2, 3, 4]);
  const lost = gb.tidy(() => {
    const a = gb.tensor([1, 2]);
    const b = a.add(1);
    return { a, c: b.mul(2) };
  });
  expect(lost.c.toArray()).toEqual([4, 6]);
  expect(lost.a.toArray()).toEqual([1, 2]);
});

test('a disposed tensor is an error to use, not a crash', () => {
  const t = gb.tensor([1, 2]);
  t.dispose();
  expect(() => t.add(1)).toThrow();
  expect(String(t)).toMatch(/freed/);
  {
    using u = gb.ones([2]);
    expect(u.sum().item()).toBe(2);
  }
});

test('backward frees the gradients it made once used, and nothing a user can still see', () => {
  const be = gb.tensor([1]).storage.backend;
  const freed: unknown[] = [];
  const free = be.free.bind(be);
  be.free = (buf) => {
    freed.push(buf);
    free(buf);
  };
  try {
    const x = gb.randn([16, 8], { requiresGrad: true });
    const w = gb.randn([8, 8], { requiresGrad: true });
    const y = gb.randn([16, 8], { requiresGrad: true });
    const h = x.matmul(w).tanh();
    h.retainGrad();
    let hooked: Tensor | null = null;
    const z = h.mul(h).add(y);
    z.registerHook((g) => {
      hooked = g;
    });
    z.add(y).sum().backward();
    // the walk made temporaries (tanh's and mul's gradients) and freed them
    expect(freed.length).toBeGreaterThan(0);
    // what stays visible is intact: leaf and retained gradients, and what a hook was given
    for (const t of [x.grad!, w.grad!, y.grad!, h.grad!, hooked!]) expect(t.storage.freed).toBe(false);
    expect(y.grad!.sub(2).abs().max().item()).toBe(0);
    const expectH = gb.noGrad(() => h.mul(2));
    expect(h.grad!.sub(expectH).abs().max().item()).toBe(0);
    // y received the same gradient twice (from z and from the sum): its .grad is its own memory
    expect(y.grad!.storage).not.toBe(hooked!.storage);
  } finally {
    be.free = free;
  }
});

test("leaves of one sum get gradients that do not share memory (PyTorch's AccumulateGrad copies a shared one)", () => {
  const x = gb.tensor([1, 2, 3], { requiresGrad: true });
  const y = gb.tensor([4, 5, 6], { requiresGrad: true });
  x.add(y).sum().backward();
  x.grad!.mul_(5);
  expect(x.grad!.toArray()).toEqual([5, 5, 5]);
  expect(y.grad!.toArray()).toEqual([1, 1, 1]);
});

test('with createGraph or an observer attached, backward frees nothing', () => {
  const be = gb.tensor([1]).storage.backend;
  let frees = 0;
  const free = be.free.bind(be);
  be.free = (buf) => {
    frees++;
    free(buf);
  };
  try {
    const x = gb.randn([4, 4], { requiresGrad: true, dtype: 'float64' });
    x.tanh().mul(x).sum().backward(undefined, { createGraph: true });
    const off = gb.addObserver(() => undefined);
    x.grad = null;
    x.tanh().mul(x).sum().backward();
    off();
    expect(frees).toBe(0);
  } finally {
    be.free = free;
  }
});
