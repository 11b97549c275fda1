/** Elementwise ops: type promotion, scalars and broadcasting as PyTorch's, over the primitives. */
import type { Tensor, TensorOrScalar } from '../tensor.js';
import { isFloating, promoteTypes, promoteWithScalar, scalarCategory, type DType } from '../dtype.js';
import { flags } from '../flags.js';
import * as P from '../prims.js';
import { broadcastShapes, sameShape, shapeStr } from '../shape.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../ops.js';
import { sum } from './reduce.js';
import { reshape } from './movement.js';
import { renamed } from './naming.js';
import { keep } from '../memory.js';

const constants = new Map<string, Tensor>();

/** A cached 0-d constant on like's device; never handed to users, so never written. */
export function scalarLike(like: Tensor, value: number, dtype: DType = like.dtype): Tensor {
  const s = like.storage;
  const key = `${s.backend.name}|${s.device}|${dtype}|${Object.is(value, -0) ? '-0' : value}`;
  let t = constants.get(key);
  if (t === undefined) {
    if (constants.size > 4096) constants.clear();
    t = keep(P.fill(s.backend, s.device, dtype, [], value));
    constants.set(key, t);
  }
  return t;
}

function asTensor(x: TensorOrScalar, like: Tensor, dtype: DType): Tensor {
  if (typeof x === 'number' || typeof x === 'boolean') return scalarLike(like, Number(x), dtype);
  return x.dtype === dtype ? x : P.copy(x, dtype);
}

function checkOperand(op: string, x: unknown): void {
  if (typeof x === 'number' || typeof x === 'boolean') return;
  if (x === null || typeof x !== 'object' || !('storage' in x)) {
    throw new TypeError(`${op}: expected a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
  }
}

/** The dtype both operands are computed in. */
export function resultType(a: TensorOrScalar, b: TensorOrScalar): DType {
  const at = typeof a === 'object';
  const bt = typeof b === 'object';
  if (at && bt) {
    const ta = a as Tensor;
    const tb = b as Tensor;
    // 0-d tensors, like scalars, only lift the category (PyTorch's dimension-category rule)
    if (ta.ndim === 0 && tb.ndim !== 0) return liftCategory(tb.dtype, ta.dtype);
    if (tb.ndim === 0 && ta.ndim !== 0) return liftCategory(ta.dtype, tb.dtype);
    return promoteTypes(ta.dtype, tb.dtype);
  }
  if (at) return promoteWithScalar((a as Tensor).dtype, b as number, flags.defaultDtype);
  if (bt) return promoteWithScalar((b as Tensor).dtype, a as number, flags.defaultDtype);
  const d = promoteTypes(scalarCategory(a as number), scalarCategory(b as number));
  return d === 'float32' ? flags.defaultDtype : d;
}

function liftCategory(t: DType, s: DType): DType {
  const cat = (d: DType) => (d === 'bool' ? 0 : d === 'int32' ? 1 : 2);
  if (cat(s) <= cat(t)) return t;
  return cat(s) === 1 ? 'int32' : isFloating(s) ? flags.defaultDtype : t;
}

function operands(op: string, a: TensorOrScalar, b: TensorOrScalar, dtype?: DType): [Tensor, Tensor] {
  checkOperand(op, a);
  checkOperand(op, b);
  const like = (typeof a === 'object' ? a : b) as Tensor;
  if (typeof like !== 'object') throw new TypeError(`${op}: at least one operand must be a Tensor`);
  const d = dtype ?? resultType(a, b);
  if (typeof a === 'object' && typeof b === 'object') broadcastShapes(op, a.shape, b.shape);
  return [asTensor(a, like, d), asTensor(b, like, d)];
}

function binaryOp(op: BinaryOp, a: TensorOrScalar, b: TensorOrScalar, dtype?: DType, alpha = 1): Tensor {
  const [x, y] = operands(op, a, b, dtype);
  if (x.dtype === 'bool' && (op === 'sub' || op === 'div' || op === 'pow')) {
    if (op === 'sub') {
      throw new TypeError('sub: Subtraction, the `-` operator, with two bool tensors is not supported. Use logicalXor() instead.');
    }
  }
  if (alpha !== 1) checkAlpha(op, x.dtype, alpha);
  return P.binary(op, x, y, alpha);
}

/** PyTorch's alpha_check: alpha may not change the result's dtype category. */
export function checkAlpha(op: string, dtype: DType, alpha: unknown): number {
  if (typeof alpha === 'boolean') alpha = Number(alpha);
  if (typeof alpha !== 'number') throw new TypeError(`${op}: alpha must be a number, got ${typeof alpha}`);
  if (dtype === 'bool' && alpha !== 0 && alpha !== 1) throw new TypeError(`${op}: Boolean alpha only supported for Boolean results.`);
  if (!isFloating(dtype) && !Number.isInteger(alpha)) {
    throw new TypeError(`${op}: For integral input tensors, argument alpha must not be a floating point number.`);
  }
  return alpha;
}

export function add(a: TensorOrScalar, b: TensorOrScalar, opts?: { alpha?: number }): Tensor {
  return binaryOp('add', a, b, undefined, opts?.alpha ?? 1);
}
export function sub(a: TensorOrScalar, b: TensorOrScalar, opts?: { alpha?: number }): Tensor {
  const out = binaryOp('sub', a, b, undefined, opts?.alpha ?? 1);
  // a number minus a tensor is PyTorch's rsub (Python's 2 - x)
  return typeof a === 'number' ? renamed(out, 'RsubBackward1', b) : out;
}
export function mul(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('mul', a, b);
}
/** True division: integer operands give the default float dtype, as PyTorch's div. */
export function div(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const d = resultType(a, b);
  const out = binaryOp('div', a, b, isFloating(d) ? d : flags.defaultDtype);
  // a number over a tensor: Python's 2 / x, which PyTorch computes as x.reciprocal() * 2
  return typeof a === 'number' ? renamed(out, 'MulBackward0', b) : out;
}
export function pow(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const out = binaryOp('pow', a, b);
  return typeof b === 'number' ? renamed(out, 'PowBackward0', a) : out;
}
export function maximum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('maximum', a, b);
}
export function minimum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('minimum', a, b);
}

function compareOp(op: CompareOp, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const [x, y] = operands(op, a, b);
  return P.compare(op, x, y);
}
export const eq = (a: TensorOrScalar, b: TensorOrScalar) => compareOp('eq', a, b);
export const ne = (a: TensorOrScalar, b: TensorOrScalar) => compareOp('ne', a, b);
export const lt = (a: TensorOrScalar, b: TensorOrScalar) => compareOp('lt', a, b);
export const le = (a: TensorOrScalar, b: TensorOrScalar) => compareOp('le', a, b);
export const gt = (a: TensorOrScalar, b: TensorOrScalar) => compareOp('gt', a, b);
export const ge = (a: TensorOrScalar, b: TensorOrScalar) => compareOp('ge', a, b);

/** Ops that keep integer dtypes; the rest compute in the default float dtype for integer inputs. */
const INTEGRAL_OK = new Set<UnaryOp>(['neg', 'abs', 'sign', 'relu', 'logicalNot']);

function unaryOp(op: UnaryOp, x: Tensor): Tensor {
  checkOperand(op, x);
  if (typeof x !== 'object') throw new TypeError(`${op}: expected a Tensor, got ${typeof x}`);
  if (x.dtype === 'bool' && op === 'neg') {
    throw new TypeError('neg: Negation, the `-` operator, on a bool tensor is not supported. Use logicalNot() instead.');
  }
  if (!isFloating(x.dtype) && !INTEGRAL_OK.has(op)) return P.unary(op, P.copy(x, flags.defaultDtype));
  if (x.dtype === 'bool' && op !== 'logicalNot') return P.unary(op, P.copy(x, 'int32'));
  return P.unary(op, x);
}
export const neg = (x: Tensor) => unaryOp('neg', x);
export const abs = (x: Tensor) => unaryOp('abs', x);
export const sign = (x: Tensor) => unaryOp('sign', x);
export const exp = (x: Tensor) => unaryOp('exp', x);
export const log = (x: Tensor) => unaryOp('log', x);
export const log1p = (x: Tensor) => unaryOp('log1p', x);
export const sqrt = (x: Tensor) => unaryOp('sqrt', x);
export const rsqrt = (x: Tensor) => unaryOp('rsqrt', x);
export const sin = (x: Tensor) => unaryOp('sin', x);
export const cos = (x: Tensor) => unaryOp('cos', x);
export const tanh = (x: Tensor) => unaryOp('tanh', x);
export const sigmoid = (x: Tensor) => unaryOp('sigmoid', x);
export const relu = (x: Tensor) => unaryOp('relu', x);
export const erf = (x: Tensor) => unaryOp('erf', x);
export const logicalNot = (x: Tensor) => unaryOp('logicalNot', x);

export function square(x: Tensor): Tensor {
  return renamed(mul(x, x), 'PowBackward0', x);
}
export function reciprocal(x: Tensor): Tensor {
  return renamed(div(1, x), 'ReciprocalBackward0', x);
}

export function gelu(x: Tensor, opts?: { approximate?: 'none' | 'tanh' }): Tensor {
  const approximate = opts?.approximate ?? 'none';
  let out: Tensor;
  if (approximate === 'tanh') {
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    out = mul(mul(x, 0.5), add(tanh(inner), 1));
  } else if (approximate === 'none') {
    out = mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
  } else {
    throw new RangeError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
  }
  return renamed(out, 'GeluBackward0', x);
}

export function silu(x: Tensor): Tensor {
  return renamed(mul(x, sigmoid(x)), 'SiluBackward0', x);
}

export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new TypeError('clamp: At least one of \'min\' or \'max\' must not be None');
  }
  let out = x;
  if (min !== undefined && min !== null) out = where(lt(out, min), min, out);
  if (max !== undefined && max !== null) out = where(gt(out, max), max, out);
  return renamed(out, 'ClampBackward1', x);
}

export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  if (typeof cond !== 'object' || cond === null || !('storage' in cond)) {
    throw new TypeError('where: expected condition to be a Tensor');
  }
  if (cond.dtype !== 'bool') {
    throw new TypeError(`where: expected condition to be a boolean tensor, but got a tensor with dtype ${cond.dtype}`);
  }
  const like = typeof a === 'object' ? a : typeof b === 'object' ? b : cond;
  const dtype = resultType(a, b);
  const shapes = [cond.shape, ...[a, b].filter((v): v is Tensor => typeof v === 'object').map((t) => t.shape)];
  shapes.reduce((s, t) => broadcastShapes('where', s, t));
  return P.where(cond, asTensor(a, like, dtype), asTensor(b, like, dtype));
}

export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (mask.dtype !== 'bool') {
    throw new TypeError(`maskedFill: expected mask to be a bool tensor, got ${mask.dtype}`);
  }
  const bs = broadcastShapes('maskedFill', x.shape, mask.shape);
  if (!sameShape(bs, x.shape)) {
    throw new RangeError(`maskedFill: mask of shape ${shapeStr(mask.shape)} cannot broadcast to self of shape ${shapeStr(x.shape)}`);
  }
  return renamed(P.where(mask, scalarLike(x, value), x), 'MaskedFillBackward0', x);
}

/** Sums g down to `shape` (the reverse of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const s = dims.length ? sum(g, dims, true) : g;
  return sameShape(s.shape, shape) ? s : reshape(s, shape);
}
