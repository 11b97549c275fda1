// A module summary as torchinfo prints one: every submodule by dotted path with its class, its
// own parameter count and whether they train, the output shape each produced on a sample input,
// and the totals. The table itself (text and HTML) is drawn in summary-table.ts.
import { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd/mode.js';
import { itemSize } from '../dtype.js';
import { View, VizArgumentError, type MimeBundle } from './common.js';
import { summaryHtml, summaryText, totalsLines } from './summary-table.js';

const CALL = 'gb.viz.summary';

export interface SummaryOptions {
  /** Rows drawn at most (the totals always cover the whole model); default 300. */
  maxRows?: number;
}

export interface SummaryRow {
  /** Dotted path as namedModules() gives it; '' for the model itself. */
  path: string;
  /** Class name. */
  type: string;
  depth: number;
  /** The output's shape on the sample input, e.g. '[128, 10]'; null without one (or not called). */
  outputShape: string | null;
  /** Parameters the module holds itself (not its children's). */
  params: number;
  trainableParams: number;
  /** torchinfo's Trainable column: 'True', 'False', 'Partial', or '--' without own parameters. */
  trainable: 'True' | 'False' | 'Partial' | '--';
  /** Index in `rows` of each direct child. */
  children: number[];
}

export interface SummaryTotals {
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Bytes of all parameters, each counted once. */
  paramBytes: number;
  /** Bytes of the sample input; null without one. */
  inputBytes: number | null;
  /** torchinfo's forward/backward pass size: twice the bytes the leaf modules output. */
  activationBytes: number | null;
}

/** gb.viz.summary's result: the rows and totals, shown as a fixed-width table or HTML. */
export class ModuleSummary extends View implements SummaryTotals {
  readonly totalParams: number;
  readonly trainableParams: number;
  readonly nonTrainableParams: number;
  readonly paramBytes: number;
  readonly inputBytes: number | null;
  readonly activationBytes: number | null;
  private cached: MimeBundle | null = null;

  constructor(
    readonly rows: readonly SummaryRow[],
    totals: SummaryTotals,
    private readonly maxRows: number,
  ) {
    super();
    this.totalParams = totals.totalParams;
    this.trainableParams = totals.trainableParams;
    this.nonTrainableParams = totals.nonTrainableParams;
    this.paramBytes = totals.paramBytes;
    this.inputBytes = totals.inputBytes;
    this.activationBytes = totals.activationBytes;
  }

  /** Whether a sample forward ran, so the table has an Output Shape column. */
  get hasShapes(): boolean {
    return this.inputBytes !== null;
  }

  bundle(): MimeBundle {
    this.cached ??= {
      'text/plain': summaryText(this, this.maxRows),
      'text/html': summaryHtml(this, this.maxRows),
    };
    return this.cached;
  }
}

/**
 * The module summary of `model`. With `sampleInput` (a tensor, or an array of them passed as
 * separate arguments) it runs one forward under noGrad, in eval mode, and records the shape each
 * submodule returned; see Note [summary forward].
 */
export function summary(model: Module, sampleInput?: Tensor | Tensor[], opts: SummaryOptions = {}): ModuleSummary {
  if (!(model instanceof Module)) throw new VizArgumentError(CALL, 'model', 'an nn.Module', model);
  const inputs = checkInputs(sampleInput);
  const maxRows = checkMaxRows(opts);
  const rows = moduleRows(model);
  const shapes = inputs ? recordShapes(model, inputs, rows) : null;
  let activationBytes: number | null = null;
  if (shapes) {
    activationBytes = 0;
    for (let i = 0; i < rows.length; i++) {
      const rec = shapes.get(i);
      if (!rec) continue;
      rows[i].outputShape = rec.shape;
      if (rows[i].children.length === 0) activationBytes += 2 * rec.bytes;
    }
  }
  const totals: SummaryTotals = {
    ...paramTotals(model),
    inputBytes: inputs ? inputs.reduce((s, t) => s + tensorBytes(t), 0) : null,
    activationBytes,
  };
  return new ModuleSummary(rows, totals, maxRows);
}

/** nn.Module's own display: PyTorch's repr plus the totals, and the summary table as HTML. */
export function moduleBundle(m: Module): MimeBundle {
  const s = new ModuleSummary(moduleRows(m), { ...paramTotals(m), inputBytes: null, activationBytes: null }, 300);
  return {
    'text/plain': `${boundedRepr(m.toString())}\n${totalsLines(s).join('\n')}`,
    'text/html': summaryHtml(s, 300),
  };
}

/** A repr of many thousand lines says nothing more than its first few hundred. */
function boundedRepr(repr: string): string {
  const MAX_LINES = 400;
  const lines = repr.split('\n');
  if (lines.length <= MAX_LINES) return repr;
  const keep = lines.slice(0, MAX_LINES - 1);
  keep.push(`  … ${lines.length - keep.length} more lines`);
  return keep.join('\n');
}

function checkInputs(sampleInput: unknown): Tensor[] | null {
  if (sampleInput === undefined) return null;
  if (sampleInput instanceof Tensor) return [sampleInput];
  const ok = Array.isArray(sampleInput) && sampleInput.length > 0 && sampleInput.every((t) => t instanceof Tensor);
  if (!ok) throw new VizArgumentError(CALL, 'sampleInput', 'a Tensor or a non-empty array of Tensors', sampleInput);
  return sampleInput as Tensor[];
}

function checkMaxRows(opts: SummaryOptions): number {
  if (opts === null || typeof opts !== 'object') throw new VizArgumentError(CALL, 'opts', 'an object', opts);
  const n = opts.maxRows ?? 300;
  if (!Number.isInteger(n) || n < 1) throw new VizArgumentError(CALL, 'opts.maxRows', 'a positive integer', n);
  return n;
}

/** One row per module, in namedModules() order (depth first, each module once). */
function moduleRows(model: Module): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const seen = new Set<Module>();
  const visit = (m: Module, path: string, depth: number): number => {
    seen.add(m);
    const index = rows.length;
    let params = 0;
    let trainableParams = 0;
    for (const [, p] of m.namedParameters({ recurse: false })) {
      params += p.numel();
      if (p.requiresGrad) trainableParams += p.numel();
    }
    const row: SummaryRow = {
      path,
      type: m.constructor.name,
      depth,
      outputShape: null,
      params,
      trainableParams,
      trainable: params === 0 ? '--' : trainableParams === params ? 'True' : trainableParams === 0 ? 'False' : 'Partial',
      children: [],
    };
    rows.push(row);
    for (const [name, child] of m.namedChildren()) {
      if (seen.has(child)) continue;
      row.children.push(visit(child, path ? `${path}.${name}` : name, depth + 1));
    }
    return index;
  };
  visit(model, '', 0);
  return rows;
}

function paramTotals(model: Module): Omit<SummaryTotals, 'inputBytes' | 'activationBytes'> {
  let totalParams = 0;
  let trainableParams = 0;
  let paramBytes = 0;
  for (const p of model.parameters()) {
    totalParams += p.numel();
    if (p.requiresGrad) trainableParams += p.numel();
    paramBytes += tensorBytes(p);
  }
  return { totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams, paramBytes };
}

function tensorBytes(t: Tensor): number {
  return t.numel() * itemSize(t.dtype);
}

interface OutputRecord {
  shape: string;
  bytes: number;
}

/**
 * Note [summary forward]
 * The shapes come from one real forward. Each module of the tree gets, for the length of that
 * forward only, an own (non-enumerable, so never mistaken for a child) `forward` property that
 * wraps the one it had: it records the first output it returns, and when forward throws, the
 * innermost wrapper the error passes names the layer it failed in. Wrapping forward rather than
 * call() catches submodules that a parent calls as `this.fc.forward(x)` as well. Afterwards every
 * module gets back exactly the property it had (usually none: forward lives on the prototype) and
 * its training flag, whether the forward returned or threw. It runs in eval mode, as torchinfo's
 * default, so Dropout draws nothing and BatchNorm's running statistics stay as they were.
 */
function recordShapes(model: Module, inputs: Tensor[], rows: SummaryRow[]): Map<number, OutputRecord> {
  const modules: Module[] = [];
  const indexOf = new Map<Module, number>();
  const seen = new Set<Module>();
  const collect = (m: Module) => {
    seen.add(m);
    indexOf.set(m, modules.length);
    modules.push(m);
    for (const [, child] of m.namedChildren()) if (!seen.has(child)) collect(child);
  };
  collect(model);
  const records = new Map<number, OutputRecord>();
  // the innermost layer each error passed: a parent that catches a child's error and goes on
  // must not be blamed for a later, different one
  const failedIn = new WeakMap<object, number>();
  const saved = modules.map((m) => ({ m, desc: Object.getOwnPropertyDescriptor(m, 'forward'), training: m.training }));
  try {
    for (const m of modules) {
      const index = indexOf.get(m)!;
      const inner = m.forward;
      const wrapper = function (this: Module, ...args: unknown[]): unknown {
        let out: unknown;
        try {
          out = inner.apply(this, args);
        } catch (e) {
          if (typeof e === 'object' && e !== null && !failedIn.has(e)) failedIn.set(e, index);
          throw e;
        }
        if (!records.has(index)) records.set(index, describeOutput(out));
        return out;
      };
      const desc = Object.getOwnPropertyDescriptor(m, 'forward');
      // a module whose own forward cannot be replaced keeps it; its row shows no shape
      if (desc && !desc.configurable) continue;
      Object.defineProperty(m, 'forward', { value: wrapper, configurable: true, writable: true, enumerable: false });
    }
    model.eval();
    noGrad(() => (model.call as (...a: Tensor[]) => unknown)(...inputs));
  } catch (e) {
    const at = (typeof e === 'object' && e !== null ? failedIn.get(e) : undefined) ?? 0;
    const where = rows[at].path === '' ? `the model (${rows[at].type})` : `layer '${rows[at].path}' (${rows[at].type})`;
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`${CALL}: the forward pass on the sample input failed in ${where}: ${message}`, { cause: e });
  } finally {
    for (const { m, desc, training } of saved) {
      if (desc) Object.defineProperty(m, 'forward', desc);
      else if (Object.getOwnPropertyDescriptor(m, 'forward')?.configurable) delete (m as { forward?: unknown }).forward;
      m.training = training;
    }
  }
  return records;
}

/** An output's shape as torchinfo shows it: a tensor's '[2, 3]', several tensors' '[2, 3], [2]'. */
function describeOutput(out: unknown): OutputRecord {
  const tensors: Tensor[] = [];
  if (out instanceof Tensor) tensors.push(out);
  else if (Array.isArray(out)) tensors.push(...out.filter((v): v is Tensor => v instanceof Tensor));
  else if (out !== null && typeof out === 'object') {
    tensors.push(...Object.values(out).filter((v): v is Tensor => v instanceof Tensor));
  }
  if (tensors.length === 0) return { shape: '--', bytes: 0 };
  const MAX_SHOWN = 4;
  const shown = tensors.slice(0, MAX_SHOWN).map((t) => `[${t.shape.join(', ')}]`);
  if (tensors.length > MAX_SHOWN) shown.push(`… ${tensors.length - MAX_SHOWN} more`);
  return { shape: shown.join(', '), bytes: tensors.reduce((s, t) => s + tensorBytes(t), 0) };
}
