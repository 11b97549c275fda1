import { describe, expect, it } from 'vitest';
import * as gb from '../runtime/index.js';

const { nn } = gb;

class Mlp extends nn.Module {
  body = new nn.Sequential(new nn.Linear(64, 32), new nn.ReLU(), new nn.Linear(32, 16), new nn.ReLU());
  head = new nn.Linear(16, 10);
  override forward(x: gb.Tensor): gb.Tensor {
    return this.head.call(this.body.call(x));
  }
}

class ConvNet extends nn.Module {
  conv1 = new nn.Conv2d(1, 8, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(8);
  pool = new nn.MaxPool2d(2);
  conv2 = new nn.Conv2d(8, 16, 3);
  flat = new nn.Flatten();
  fc = new nn.Linear(16 * 2 * 2, 10, { bias: false });
  override forward(x: gb.Tensor): gb.Tensor {
    let h = this.pool.call(this.bn.call(this.conv1.call(x)).relu());
    h = this.conv2.call(h).relu();
    return this.fc.call(this.flat.call(h));
  }
}

const rowOf = (s: gb.viz.ModuleSummary, path: string) => {
  const row = s.rows.find((r) => r.path === path);
  if (!row) throw new Error(`no row ${path}`);
  return row;
};
const text = (s: gb.viz.View) => String(s.bundle()['text/plain']);
const html = (s: gb.viz.View) => String(s.bundle()['text/html']);

describe('gb.viz.summary', () => {
  it('lists every module of an MLP by dotted path with its own parameter count', () => {
    const s = gb.viz.summary(new Mlp());
    expect(s.rows.map((r) => r.path)).toEqual(['', 'body', 'body.0', 'body.1', 'body.2', 'body.3', 'head']);
    expect(s.rows.map((r) => r.type)).toEqual(['Mlp', 'Sequential', 'Linear', 'ReLU', 'Linear', 'ReLU', 'Linear']);
    expect(rowOf(s, 'body.0').params).toBe(64 * 32 + 32);
    expect(rowOf(s, 'body.2').params).toBe(32 * 16 + 16);
    expect(rowOf(s, 'head').params).toBe(16 * 10 + 10);
    expect(rowOf(s, 'body').params).toBe(0);
    expect(rowOf(s, 'body.1').trainable).toBe('--');
    const total = 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10;
    expect(s.totalParams).toBe(total);
    expect(s.trainableParams).toBe(total);
    expect(s.nonTrainableParams).toBe(0);
    expect(s.paramBytes).toBe(total * 4);
    const t = text(s);
    expect(t).toContain(`Total params: ${total.toLocaleString('en-US')}`);
    expect(t).toContain(`Params size (KB): ${((total * 4) / 1000).toFixed(2)}`);
    expect(t).toMatch(/^Layer \(type\) +Param # +Trainable$/m);
    expect(t).toMatch(/^│ {4}└─body\.3 \(ReLU\) +-- +--$/m);
    expect(t).toMatch(/^└─head \(Linear\) +170 +True$/m);
  });

  it('records each module output shape on a sample input, and restores the model', () => {
    const m = new Mlp();
    const x = gb.randn([5, 64]);
    const s = gb.viz.summary(m, x);
    expect(rowOf(s, '').outputShape).toBe('[5, 10]');
    expect(rowOf(s, 'body').outputShape).toBe('[5, 16]');
    expect(rowOf(s, 'body.0').outputShape).toBe('[5, 32]');
    expect(rowOf(s, 'body.3').outputShape).toBe('[5, 16]');
    expect(s.inputBytes).toBe(5 * 64 * 4);
    // leaf modules' outputs, times two for the backward pass
    expect(s.activationBytes).toBe(2 * 4 * 5 * (32 + 32 + 16 + 16 + 10));
    expect(text(s)).toMatch(/^Layer \(type\) +Output Shape +Param # +Trainable$/m);
    expect(text(s)).toContain('Estimated Total Size (KB): ');
    expect(m.training).toBe(true);
    for (const sub of m.modules()) expect(Object.getOwnPropertyDescriptor(sub, 'forward')).toBeUndefined();
    expect(Object.keys(m)).toEqual(['body', 'head']);
    // nothing was recorded for autograd and the model still runs as before
    expect(m.call(x).gradFn?.name).toBe('AddmmBackward0');
  });

  it('counts a conv net and sees the shapes of conv, pooling and flatten', () => {
    const s = gb.viz.summary(new ConvNet(), gb.randn([2, 1, 8, 8]));
    const conv1 = 8 * 1 * 3 * 3 + 8;
    const bn = 8 + 8;
    const conv2 = 16 * 8 * 3 * 3 + 16;
    const fc = 64 * 10;
    expect(rowOf(s, 'conv1').params).toBe(conv1);
    expect(rowOf(s, 'bn').params).toBe(bn);
    expect(rowOf(s, 'conv2').params).toBe(conv2);
    expect(rowOf(s, 'fc').params).toBe(fc);
    expect(s.totalParams).toBe(conv1 + bn + conv2 + fc);
    expect(rowOf(s, 'conv1').outputShape).toBe('[2, 8, 8, 8]');
    expect(rowOf(s, 'pool').outputShape).toBe('[2, 8, 4, 4]');
    expect(rowOf(s, 'conv2').outputShape).toBe('[2, 16, 2, 2]');
    expect(rowOf(s, 'flat').outputShape).toBe('[2, 64]');
    expect(rowOf(s, '').outputShape).toBe('[2, 10]');
  });

  it('runs the sample forward in eval mode, leaving BatchNorm statistics alone', () => {
    const m = new ConvNet();
    const before = m.bn.getBuffer('running_mean')!.clone();
    gb.viz.summary(m, gb.randn([2, 1, 8, 8]).add(3));
    expect(Array.from(m.bn.getBuffer('running_mean')!.data())).toEqual(Array.from(before.data()));
    expect(m.bn.training).toBe(true);
  });

  it('tells trainable from frozen parameters', () => {
    const m = new Mlp();
    m.body.requiresGrad_(false);
    (m.head.bias as gb.nn.Parameter).requiresGrad_(false);
    const s = gb.viz.summary(m);
    const frozen = 64 * 32 + 32 + 32 * 16 + 16 + 10;
    expect(s.nonTrainableParams).toBe(frozen);
    expect(s.trainableParams).toBe(160);
    expect(rowOf(s, 'body.0').trainable).toBe('False');
    expect(rowOf(s, 'head').trainable).toBe('Partial');
    expect(text(s)).toContain(`Non-trainable params: ${frozen.toLocaleString('en-US')}`);
    expect(text(s)).toMatch(/^└─head \(Linear\) +170 +Partial$/m);
  });

  it('nests children in details/summary and uses no script', () => {
    const h = html(gb.viz.summary(new Mlp(), gb.randn([3, 64])));
    expect(h).not.toMatch(/<script/i);
    expect(h.match(/<details/g)).toHaveLength(2);
    expect(h.match(/<\/details>/g)).toHaveLength(2);
    // body's four layers sit inside body's details, which sits inside the root's
    const body = h.indexOf('<details', h.indexOf('<details') + 1);
    const bodyEnd = h.indexOf('</details>');
    const inner = h.slice(body, bodyEnd);
    expect(inner).toContain('body.0');
    expect(inner).toContain('body.3');
    const head = '>head <span class="t">Linear</span>';
    expect(inner).not.toContain(head);
    expect(h.slice(bodyEnd)).toContain(head);
    expect(h).toContain('[3, 16]');
    expect(h).toContain('Trainable params');
  });

  it('escapes class names in HTML', () => {
    const Odd = { ['<b>&Odd']: class extends nn.Module {} }['<b>&Odd'];
    const root = new nn.Sequential(new Odd());
    const h = html(gb.viz.summary(root));
    expect(h).toContain('&lt;b&gt;&amp;Odd');
    expect(h).not.toContain('<b>&Odd');
  });

  it('bounds the rows of a huge model but totals all of it', () => {
    const layers = Array.from({ length: 1000 }, () => new nn.Linear(2, 2));
    const s = gb.viz.summary(new nn.Sequential(...layers), undefined, { maxRows: 50 });
    expect(s.rows).toHaveLength(1001);
    expect(s.totalParams).toBe(1000 * 6);
    const t = text(s);
    expect(t).toContain('… 951 more layers (maxRows: 50)');
    expect(t.split('\n').length).toBeLessThan(70);
    expect(html(s).match(/class="r"/g)!.length).toBe(50);
  });

  it('rejects what is not a module or not a sample input', () => {
    expect(() => gb.viz.summary({} as gb.nn.Module)).toThrow(TypeError);
    expect(() => gb.viz.summary(42 as unknown as gb.nn.Module)).toThrow(
      'gb.viz.summary: model must be an nn.Module, got the number 42',
    );
    expect(() => gb.viz.summary(new Mlp(), [1, 2] as unknown as gb.Tensor[])).toThrow(
      /gb\.viz\.summary: sampleInput must be a Tensor or a non-empty array of Tensors, got an array of length 2/,
    );
    expect(() => gb.viz.summary(new Mlp(), [] as gb.Tensor[])).toThrow(/sampleInput/);
    expect(() => gb.viz.summary(new Mlp(), undefined, { maxRows: 0 })).toThrow(/opts\.maxRows must be a positive integer/);
  });

  it('names the layer where the sample forward failed and restores the model', () => {
    const m = new Mlp();
    let err: Error | undefined;
    try {
      gb.viz.summary(m, gb.randn([4, 63]));
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^gb\.viz\.summary: the forward pass on the sample input failed in layer 'body\.0' \(Linear\): /);
    expect(err!.message.length).toBeGreaterThan(90);
    expect((err!.cause as Error).message).toBe(err!.message.replace(/^.*?\(Linear\): /, ''));
    for (const sub of m.modules()) expect(Object.getOwnPropertyDescriptor(sub, 'forward')).toBeUndefined();
    expect(m.training).toBe(true);
  });

  it('blames the model itself when its own forward throws', () => {
    class Broken extends nn.Module {
      fc = new nn.Linear(2, 2);
      override forward(x: gb.Tensor): gb.Tensor {
        this.fc.call(x);
        throw new Error('boom');
      }
    }
    expect(() => gb.viz.summary(new Broken(), gb.randn([1, 2]))).toThrow(
      "gb.viz.summary: the forward pass on the sample input failed in the model (Broken): boom",
    );
  });
});

describe('nn.Module display', () => {
  it('keeps PyTorch repr in text/plain and appends the totals', () => {
    const m = new Mlp();
    const b = (m as unknown as Record<symbol, () => Record<string, unknown>>)[Symbol.for('Jupyter.display')]();
    const t = String(b['text/plain']);
    expect(t.startsWith(m.toString() + '\n')).toBe(true);
    expect(t).toContain('Total params: 2,778');
    expect(t).toContain('Trainable params: 2,778');
    expect(t).toContain('Non-trainable params: 0');
    const h = String(b['text/html']);
    expect(h).toContain('<details');
    expect(h).not.toContain('Output Shape');
    expect(h).not.toMatch(/<script/i);
  });
});
