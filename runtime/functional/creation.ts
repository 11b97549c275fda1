/** Making tensors: from values, filled, ranges and random. */
import { Tensor } from '../tensor.js';
import { arrayFor, checkDType, isFloating, type DType, type TypedArray } from '../dtype.js';
import { backendForDevice, parseDevice, type Device, type DeviceLike } from '../device.js';
import { flags } from '../flags.js';
import * as P from '../prims.js';
import { checkShape, numelOf, shapeStr } from '../shape.js';
import { generatorFor } from '../random.js';

export interface TensorOptions {
  dtype?: DType;
  device?: DeviceLike;
  requiresGrad?: boolean;
}

function resolve(opts: TensorOptions | undefined, fallback: DType): { dtype: DType; device: Device } {
  const dtype = opts?.dtype === undefined ? fallback : checkDType(opts.dtype, 'tensor');
  const device = parseDevice(opts?.device ?? 'cpu');
  return { dtype, device };
}

function finish(t: Tensor, opts: TensorOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Writes host values into a new tensor. */
export function fromHost(data: TypedArray | ArrayLike<number>, shape: readonly number[], dtype: DType, device: Device): Tensor {
  const backend = backendForDevice(device);
  const t = P.allocTensor(backend, device, dtype, shape);
  if (t.storage.numel) {
    const arr = data instanceof arrayFor(dtype, 0).constructor ? (data as TypedArray) : toTyped(data, dtype);
    backend.write(t.storage.buf, dtype, arr, 0);
  }
  return t;
}

function toTyped(data: ArrayLike<number>, dtype: DType): TypedArray {
  const arr = arrayFor(dtype, data.length);
  if (dtype === 'bool') for (let i = 0; i < data.length; i++) arr[i] = data[i] ? 1 : 0;
  else for (let i = 0; i < data.length; i++) arr[i] = data[i];
  return arr;
}

type Nested = number | boolean | Nested[] | TypedArray;

/** gb.tensor: nested arrays, numbers, booleans or typed arrays. */
export function tensor(values: Nested | Tensor, opts?: TensorOptions): Tensor {
  if (values instanceof Tensor) {
    const t = values.detach().to(opts?.dtype ?? values.dtype).to(opts?.device ?? values.device).clone();
    return finish(t, opts);
  }
  const shape: number[] = [];
  const flat: number[] = [];
  let sawBool = false;
  let sawNumber = false;
  const visit = (v: Nested, depth: number): void => {
    if (typeof v === 'number' || typeof v === 'boolean') {
      if (depth !== shape.length) throw new RangeError(`tensor: expected a sequence at dim ${depth}, got a number (ragged nested arrays)`);
      if (typeof v === 'boolean') sawBool = true;
      else sawNumber = true;
      flat.push(Number(v));
      return;
    }
    if (ArrayBuffer.isView(v) || Array.isArray(v)) {
      const len = (v as ArrayLike<unknown>).length;
      if (depth === shape.length) {
        if (flat.length > 0) throw new RangeError(`tensor: expected a number at dim ${depth}, got a sequence (ragged nested arrays)`);
        shape.push(len);
      } else if (shape[depth] !== len) {
        throw new RangeError(`tensor: expected sequence of length ${shape[depth]} at dim ${depth} (got ${len})`);
      }
      for (let i = 0; i < len; i++) visit((v as ArrayLike<Nested>)[i], depth + 1);
      return;
    }
    throw new TypeError(`tensor: could not convert ${v === null ? 'null' : typeof v} to a tensor element`);
  };
  visit(values, 0);
  if (flat.length === 0 && shape.length && !shape.includes(0)) {
    throw new RangeError(`tensor: ragged nested arrays (shape ${shapeStr(shape)})`);
  }
  const inferred: DType = sawBool && !sawNumber ? 'bool' : values instanceof Int32Array ? 'int32' : flags.defaultDtype;
  const { dtype, device } = resolve(opts, inferred);
  return finish(fromHost(flat, shape, dtype, device), opts);
}

/** Wraps a typed array (copied into device memory). */
export function fromTypedArray(array: TypedArray, shape: readonly number[], opts?: TensorOptions): Tensor {
  checkShape('fromTypedArray', shape);
  const fallback: DType =
    array instanceof Float64Array ? 'float64' : array instanceof Int32Array ? 'int32' : array instanceof Uint8Array ? 'bool' : 'float32';
  const { dtype, device } = resolve(opts, fallback);
  if (numelOf(shape) !== array.length) {
    throw new RangeError(`fromTypedArray: shape ${shapeStr(shape)} holds ${numelOf(shape)} elements but the array has ${array.length}`);
  }
  return finish(fromHost(array, shape, dtype, device), opts);
}

function shapeArg(op: string, shape: readonly number[] | number): number[] {
  const s = typeof shape === 'number' ? [shape] : [...shape];
  if (!Array.isArray(s)) throw new TypeError(`${op}: shape must be an array of sizes`);
  checkShape(op, s);
  return s;
}

export function full(shape: readonly number[] | number, value: number | boolean, opts?: TensorOptions): Tensor {
  const s = shapeArg('full', shape);
  const fallback: DType = typeof value === 'boolean' ? 'bool' : flags.defaultDtype;
  const { dtype, device } = resolve(opts, fallback);
  return finish(P.fill(backendForDevice(device), device, dtype, s, Number(value)), opts);
}
export const zeros = (shape: readonly number[] | number, opts?: TensorOptions) => full(shape, 0, opts);
export const ones = (shape: readonly number[] | number, opts?: TensorOptions) => full(shape, 1, opts);
/** Uninitialised in PyTorch; zeroed here, since reading garbage helps nobody. */
export const empty = (shape: readonly number[] | number, opts?: TensorOptions) => full(shape, 0, opts);

function likeOpts(t: Tensor, opts?: TensorOptions): TensorOptions {
  return { dtype: opts?.dtype ?? t.dtype, device: opts?.device ?? t.device, requiresGrad: opts?.requiresGrad };
}
export const zerosLike = (t: Tensor, opts?: TensorOptions) => full(t.shape, 0, likeOpts(t, opts));
export const onesLike = (t: Tensor, opts?: TensorOptions) => full(t.shape, 1, likeOpts(t, opts));
export const fullLike = (t: Tensor, v: number, opts?: TensorOptions) => full(t.shape, v, likeOpts(t, opts));
export const emptyLike = (t: Tensor, opts?: TensorOptions) => full(t.shape, 0, likeOpts(t, opts));

/** Zeros of another shape on like's backend, device and dtype (for gradient rules). */
export function zerosLikeShape(like: Tensor, shape: readonly number[]): Tensor {
  return P.fill(like.storage.backend, like.device, like.dtype, shape, 0);
}

export function arange(start: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  if ((step > 0 && end < start) || (step < 0 && end > start)) {
    throw new RangeError(`arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  }
  const n = Math.ceil((end - start) / step);
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const { dtype, device } = resolve(opts, allInt ? 'int32' : flags.defaultDtype);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = start + i * step;
  return finish(fromHost(vals, [n], dtype, device), opts);
}

export function linspace(a: number, b: number, steps: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`linspace: number of steps must be non-negative, got ${steps}`);
  const { dtype, device } = resolve(opts, flags.defaultDtype);
  const vals = new Float64Array(steps);
  const d = steps > 1 ? (b - a) / (steps - 1) : 0;
  // symmetric evaluation from both ends, as PyTorch, so the last value is exactly b
  for (let i = 0; i < steps; i++) vals[i] = i < steps / 2 ? a + d * i : b - d * (steps - 1 - i);
  return finish(fromHost(vals, [steps], dtype, device), opts);
}

export function eye(n: number, m = n, opts?: TensorOptions): Tensor {
  checkShape('eye', [n, m]);
  const { dtype, device } = resolve(opts, flags.defaultDtype);
  const vals = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) vals[i * m + i] = 1;
  return finish(fromHost(vals, [n, m], dtype, device), opts);
}

// Random values are made a chunk at a time into scratch arrays kept across calls, then written to
// the tensor: a 128 x 784 randn per step (a synthetic batch) made 1.2 MB of host garbage arrays.
const RANDOM_CHUNK = 1 << 16;
let randomScratch: Float64Array | undefined;
const typedScratch = new Map<DType, TypedArray>();

function randomFill(op: string, shape: readonly number[] | number, opts: TensorOptions | undefined, fill: (g: ReturnType<typeof generatorFor>, out: Float64Array) => void, fallback: DType = flags.defaultDtype): Tensor {
  const s = shapeArg(op, shape);
  const { dtype, device } = resolve(opts, fallback);
  if (op !== 'randint' && !isFloating(dtype)) throw new TypeError(`${op}: expected a floating point dtype, got ${dtype}`);
  const g = generatorFor(device);
  const n = numelOf(s);
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') {
    const vals = new Float64Array(n);
    fill(g, vals);
    return finish(fromHost(vals, s, dtype, device), opts);
  }
  const backend = backendForDevice(device);
  const t = P.allocTensor(backend, device, dtype, s);
  randomScratch ??= new Float64Array(RANDOM_CHUNK);
  let typed = typedScratch.get(dtype);
  if (!typed) typedScratch.set(dtype, (typed = arrayFor(dtype, RANDOM_CHUNK)));
  for (let at = 0; at < n; at += RANDOM_CHUNK) {
    const m = Math.min(RANDOM_CHUNK, n - at);
    const part = m === RANDOM_CHUNK ? randomScratch : randomScratch.subarray(0, m);
    fill(g, part);
    if (dtype === 'float64') backend.write(t.storage.buf, dtype, part, at);
    else {
      const out = m === RANDOM_CHUNK ? typed : typed.subarray(0, m);
      out.set(part);
      backend.write(t.storage.buf, dtype, out, at);
    }
  }
  return finish(t, opts);
}

export function rand(shape: readonly number[] | number, opts?: TensorOptions): Tensor {
  const f32 = (opts?.dtype ?? flags.defaultDtype) === 'float32';
  // float32 keeps 24 random bits so a value never rounds up to 1.0
  return randomFill('rand', shape, opts, (g, out) => g.fillUniform(out, 0, 1, f32));
}
export function randn(shape: readonly number[] | number, opts?: TensorOptions): Tensor {
  return randomFill('randn', shape, opts, (g, out) => g.fillNormal(out));
}
export function randint(low: number, high: number, shape: readonly number[] | number, opts?: TensorOptions): Tensor {
  if (!(high > low)) throw new RangeError(`randint: random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
  return randomFill('randint', shape, opts, (g, out) => g.fillRandint(out, low, high), 'int32');
}
