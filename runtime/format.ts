/**
 * Tensor printing that reproduces PyTorch's `repr(tensor)` byte for byte.
 *
 * This is a port of `torch/_tensor_str.py` (the `_Formatter` class, `_tensor_str`,
 * `_vector_str`, `get_summarized_data`, `_add_suffixes` and the strided branch of
 * `_str_intern`). Function and variable names follow the Python source so the two
 * can be read side by side; deliberate quirks of the original (e.g. the `+ 1` in
 * `_add_suffixes`' line-length computation, or the sci-mode override being skipped
 * when a float tensor holds no nonzero finite value) are kept on purpose, because
 * the goal is identical output, not a cleaner algorithm.
 *
 * Elements are formatted with an exact emulation of Python's `'{:.Nf}'`/`'{:.Ne}'`
 * (see ./format/pyfloat.ts for why JS's toFixed/toExponential cannot be used).
 *
 * The module is deliberately independent of the Tensor class: callers pass a plain
 * description of the tensor (`TensorPrintInfo`).
 *
 * Layout: Python float formatting lives in ./format/pyfloat.ts and per-dtype value
 * rounding in ./format/dtype_values.ts; this file holds _Formatter and the layout.
 */

import { decodeHalfBits, storedValue, type PrintDtype } from './format/dtype_values.js';
import { pyFormatExp, pyFormatFixed } from './format/pyfloat.js';

export { pyFormatExp, pyFormatFixed } from './format/pyfloat.js';

export interface PrintOptions {
  /** Digits after the decimal point (`f`) or of the mantissa (`e`). */
  precision: number;
  /** Tensors with more than this many elements are summarised with `...`. */
  threshold: number;
  /** Items kept at the beginning and end of each summarised dimension. */
  edgeitems: number;
  /** Characters per line used to wrap long rows and to place suffixes. */
  linewidth: number;
  /** Force (true) / forbid (false) scientific notation; null lets the formatter choose. */
  sciMode: boolean | null;
}

export const defaultPrintOptions: PrintOptions = Object.freeze({
  precision: 4,
  threshold: 1000,
  edgeitems: 3,
  linewidth: 80,
  sciMode: null,
});

export type { PrintDtype } from './format/dtype_values.js';

export interface TensorPrintInfo {
  shape: readonly number[];
  dtype: PrintDtype;
  /** 'cpu', 'cuda:0', ... */
  device: string;
  /**
   * Contiguous row-major values (bool as 0/1). For float16/bfloat16 a Uint16Array is read
   * as the raw 16-bit storage words (the runtime's storage format); any other array-like
   * as the numeric values.
   */
  values: ArrayLike<number>;
  requiresGrad: boolean;
  /** e.g. 'MulBackward0'; takes precedence over requires_grad=True, as in PyTorch. */
  gradFnName?: string;
  /** dtype= is shown when the dtype differs from this (and is not bool). */
  defaultDtype: 'float32' | 'float64';
}

const TORCH_DTYPE_NAMES: Record<PrintDtype, string> = {
  float32: 'torch.float32',
  float64: 'torch.float64',
  int32: 'torch.int32',
  bool: 'torch.bool',
  float16: 'torch.float16',
  bfloat16: 'torch.bfloat16',
};

function isFloatingDtype(dtype: PrintDtype): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

// ---------------------------------------------------------------------------
// _Formatter
// ---------------------------------------------------------------------------

class Formatter {
  readonly floatingDtype: boolean;
  readonly isBool: boolean;
  intMode = true;
  sciMode = false;
  maxWidth = 1;

  /** `values` are the (possibly summarised) elements the formatter is fitted to. */
  constructor(dtype: PrintDtype, values: readonly number[], private readonly opts: PrintOptions) {
    this.floatingDtype = isFloatingDtype(dtype);
    this.isBool = dtype === 'bool';

    if (!this.floatingDtype) {
      for (const v of values) this.maxWidth = Math.max(this.maxWidth, this.plainStr(v).length);
    } else {
      // Only nonzero finite values decide the mode and the width; zeros and non-finite
      // values are printed however they come out (possibly wider than max_width).
      const nonzeroFinite = values.filter((v) => Number.isFinite(v) && v !== 0);
      if (nonzeroFinite.length === 0) {
        // "no valid number, do nothing" -- note PyTorch also skips the sci_mode override here.
        return;
      }
      let min = Infinity;
      let max = -Infinity;
      for (const v of nonzeroFinite) {
        const a = Math.abs(v);
        if (a < min) min = a;
        if (a > max) max = a;
      }
      for (const v of nonzeroFinite) {
        if (v !== Math.ceil(v)) {
          this.intMode = false;
          break;
        }
      }
      const p = opts.precision;
      if (this.intMode) {
        // All whole numbers: print as "3." (the "+ 1" accounts for the appended '.').
        if (max / min > 1000.0 || max > 1.0e8) {
          this.sciMode = true;
          for (const v of nonzeroFinite) this.maxWidth = Math.max(this.maxWidth, pyFormatExp(v, p).length);
        } else {
          for (const v of nonzeroFinite) this.maxWidth = Math.max(this.maxWidth, pyFormatFixed(v, 0).length + 1);
        }
      } else if (max / min > 1000.0 || max > 1.0e8 || min < 1.0e-4) {
        this.sciMode = true;
        for (const v of nonzeroFinite) this.maxWidth = Math.max(this.maxWidth, pyFormatExp(v, p).length);
      } else {
        for (const v of nonzeroFinite) this.maxWidth = Math.max(this.maxWidth, pyFormatFixed(v, p).length);
      }
    }
    if (opts.sciMode !== null) this.sciMode = opts.sciMode;
  }

  /** Python's `"{}".format(value)` for int / bool elements. */
  private plainStr(v: number): string {
    if (this.isBool) return v ? 'True' : 'False';
    return String(v);
  }

  width(): number {
    return this.maxWidth;
  }

  format(value: number): string {
    let ret: string;
    if (this.floatingDtype) {
      if (this.sciMode) {
        ret = pyFormatExp(value, this.opts.precision); // '{:W.Pe}' pads left just like below
      } else if (this.intMode) {
        ret = pyFormatFixed(value, 0);
        if (Number.isFinite(value)) ret += '.';
      } else {
        ret = pyFormatFixed(value, this.opts.precision);
      }
    } else {
      ret = this.plainStr(value);
    }
    return ' '.repeat(Math.max(0, this.maxWidth - ret.length)) + ret;
  }
}

// ---------------------------------------------------------------------------
// Strided view over the flat row-major values (what indexing `self[i]` does in Python).
// ---------------------------------------------------------------------------

interface View {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  /** Element at a flat index, already rounded/decoded to the value PyTorch would format. */
  readonly get: (flatIndex: number) => number;
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** `self[i]` */
function select(v: View, i: number): View {
  return { shape: v.shape.slice(1), strides: v.strides.slice(1), offset: v.offset + i * v.strides[0]!, get: v.get };
}

/** Python's `self[:e]` and `self[-e:]` index ranges for a dimension of size n. */
function headIndices(n: number, e: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(e, n); i++) out.push(i);
  return out;
}
function tailIndices(n: number, e: number): number[] {
  // Note `self[-0:]` is the whole dimension in Python; kept for fidelity with edgeitems=0.
  const start = e === 0 ? 0 : Math.max(0, n - e);
  const out: number[] = [];
  for (let i = start; i < n; i++) out.push(i);
  return out;
}
function rangeIndices(start: number, end: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, start); i < end; i++) out.push(i);
  return out;
}

/** Elements of `get_summarized_data(self)` (order does not matter to the formatter). */
function summarizedData(v: View, opts: PrintOptions, out: number[]): void {
  const dim = v.shape.length;
  if (dim === 0) {
    out.push(v.get(v.offset));
    return;
  }
  const n = v.shape[0]!;
  const e = opts.edgeitems;
  let idx: number[];
  if (n > 2 * e) {
    idx = dim === 1 ? [...headIndices(n, e), ...tailIndices(n, e)] : [...rangeIndices(0, e), ...rangeIndices(n - e, n)];
  } else {
    idx = rangeIndices(0, n);
  }
  for (const i of idx) summarizedData(select(v, i), opts, out);
}

function allData(v: View, out: number[]): void {
  if (v.shape.length === 0) {
    out.push(v.get(v.offset));
    return;
  }
  for (let i = 0; i < v.shape[0]!; i++) allData(select(v, i), out);
}

// ---------------------------------------------------------------------------
// _vector_str / _tensor_str_with_formatter / _tensor_str
// ---------------------------------------------------------------------------

function vectorStr(v: View, indent: number, summarize: boolean, fmt: Formatter, opts: PrintOptions): string {
  // length includes spaces and comma between elements
  const elementLength = fmt.width() + 2;
  const elementsPerLine = Math.max(1, Math.floor((opts.linewidth - indent) / elementLength));
  const n = v.shape[0]!;
  const at = (i: number) => fmt.format(v.get(v.offset + i * v.strides[0]!));

  let data: string[];
  if (summarize && n > 2 * opts.edgeitems) {
    data = [...headIndices(n, opts.edgeitems).map(at), ' ...', ...tailIndices(n, opts.edgeitems).map(at)];
  } else {
    data = rangeIndices(0, n).map(at);
  }
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += elementsPerLine) lines.push(data.slice(i, i + elementsPerLine).join(', '));
  return '[' + lines.join(',\n' + ' '.repeat(indent + 1)) + ']';
}

function tensorStrWithFormatter(v: View, indent: number, summarize: boolean, fmt: Formatter, opts: PrintOptions): string {
  const dim = v.shape.length;
  if (dim === 0) return fmt.format(v.get(v.offset));
  if (dim === 1) return vectorStr(v, indent, summarize, fmt, opts);

  const n = v.shape[0]!;
  const e = opts.edgeitems;
  const sub = (i: number) => tensorStrWithFormatter(select(v, i), indent + 1, summarize, fmt, opts);
  let slices: string[];
  if (summarize && n > 2 * e) {
    slices = [...rangeIndices(0, e).map(sub), '...', ...rangeIndices(n - e, n).map(sub)];
  } else {
    slices = rangeIndices(0, n).map(sub);
  }
  // Higher dimensions are separated by (dim - 1) newlines, i.e. dim - 2 blank lines.
  return '[' + slices.join(',' + '\n'.repeat(dim - 1) + ' '.repeat(indent + 1)) + ']';
}

function resolveOptions(opts?: Partial<PrintOptions>): PrintOptions {
  const o: PrintOptions = { ...defaultPrintOptions };
  if (opts) {
    for (const k of Object.keys(opts) as (keyof PrintOptions)[]) {
      if (opts[k] !== undefined) (o as unknown as Record<string, unknown>)[k] = opts[k];
    }
  }
  return o;
}

function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

function validate(info: TensorPrintInfo): number {
  for (const s of info.shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`formatTensor: invalid shape [${info.shape.join(', ')}]`);
  }
  const numel = numelOf(info.shape);
  if (info.values.length < numel) {
    throw new RangeError(`formatTensor: ${info.values.length} values given for shape [${info.shape.join(', ')}] (${numel} elements)`);
  }
  return numel;
}

/** `_tensor_str(self, indent)`: the bracketed body of a tensor's repr. */
function tensorStr(info: TensorPrintInfo, numel: number, indent: number, opts: PrintOptions): string {
  if (numel === 0) return '[]';
  const summarize = numel > opts.threshold;
  // Elements are read lazily: a summarised tensor only ever touches its edge items.
  const { dtype, values } = info;
  const get =
    (dtype === 'float16' || dtype === 'bfloat16') && values instanceof Uint16Array
      ? (i: number) => decodeHalfBits(dtype, values[i]!)
      : (i: number) => storedValue(dtype, values[i]!);
  const view: View = { shape: info.shape.slice(), strides: contiguousStrides(info.shape), offset: 0, get };
  const fitted: number[] = [];
  if (summarize) summarizedData(view, opts, fitted);
  else allData(view, fitted);
  const fmt = new Formatter(info.dtype, fitted, opts);
  return tensorStrWithFormatter(view, indent, summarize, fmt, opts);
}

/**
 * The bracketed data part of the repr, as PyTorch's `torch._tensor_str._tensor_str(t, indent)`.
 * `indent` is the column at which the opening bracket sits (continuation lines are indented
 * past it); formatTensor uses len("tensor(") = 7.
 */
export function formatTensorData(info: TensorPrintInfo, opts?: Partial<PrintOptions>, indent = 0): string {
  const numel = validate(info);
  return tensorStr(info, numel, indent, resolveOptions(opts));
}

/** Python's `str(tuple(shape))`. */
function pyTuple(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** `_add_suffixes`: append ", suffix" or wrap onto a new line past linewidth. */
function addSuffixes(tensorStrText: string, suffixes: readonly string[], indent: number, linewidth: number): string {
  const parts = [tensorStrText];
  // PyTorch's formula (off by +2 when there is no newline; kept for identical wrapping).
  let lastLineLen = tensorStrText.length - tensorStrText.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLineLen + suffix.length + 2 > linewidth) {
      parts.push(',\n' + ' '.repeat(indent) + suffix);
      lastLineLen = indent + suffix.length;
    } else {
      parts.push(', ' + suffix);
      lastLineLen += suffix.length + 2;
    }
  }
  parts.push(')');
  return parts.join('');
}

/** `repr(t)` for a strided, non-quantized, unnamed tensor, exactly as PyTorch prints it. */
export function formatTensor(info: TensorPrintInfo, opts?: Partial<PrintOptions>): string {
  const o = resolveOptions(opts);
  const numel = validate(info);
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];

  // Note [Print tensor device]: the device is shown unless it is the default (cpu) device.
  const deviceType = info.device.split(':')[0];
  if (deviceType !== 'cpu') suffixes.push(`device='${info.device}'`);

  let body: string;
  if (numel === 0) {
    // Explicitly print the shape if it is not (0,), to match NumPy behaviour; an empty
    // tensor has no elements to infer the dtype from, so any non-default dtype is shown.
    if (info.shape.length !== 1) suffixes.push('size=' + pyTuple(info.shape));
    if (info.dtype !== info.defaultDtype) suffixes.push('dtype=' + TORCH_DTYPE_NAMES[info.dtype]);
    body = '[]';
  } else {
    // Default dtypes are the default float dtype, int64 and bool (int32 is never default).
    const hasDefaultDtype = info.dtype === info.defaultDtype || info.dtype === 'bool';
    if (!hasDefaultDtype) suffixes.push('dtype=' + TORCH_DTYPE_NAMES[info.dtype]);
    body = tensorStr(info, numel, indent, o);
  }

  if (info.gradFnName !== undefined) suffixes.push(`grad_fn=<${info.gradFnName}>`);
  else if (info.requiresGrad) suffixes.push('requires_grad=True');

  return addSuffixes(prefix + body, suffixes, indent, o.linewidth);
}
