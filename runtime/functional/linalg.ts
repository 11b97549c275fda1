/** Matrix products with PyTorch's rules for 1-D operands and broadcast batch dims. */
import type { Tensor } from '../tensor.js';
import * as P from '../prims.js';
import { broadcastShapes, shapeStr } from '../shape.js';
import { squeeze, unsqueeze } from './movement.js';
import { renamed } from './naming.js';

function checkOperands(op: string, a: Tensor, b: Tensor): void {
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b || !('storage' in a) || !('storage' in b)) {
    throw new TypeError(`${op}: expected two Tensors`);
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(`${op}: both arguments need at least 1 dimension, but got ${a.ndim}D and ${b.ndim}D tensors`);
  }
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${op}: expected m1 and m2 to have the same dtype, but got: ${a.dtype} != ${b.dtype}`);
  }
  if (a.dtype === 'bool') throw new TypeError(`${op}: not implemented for 'Bool'`);
}

function inner(op: string, a: Tensor, b: Tensor): void {
  const k1 = a.shape[a.ndim - 1];
  const k2 = b.ndim === 1 ? b.shape[0] : b.shape[b.ndim - 2];
  if (k1 !== k2) {
    throw new RangeError(`${op}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied (${k1} != ${k2})`);
  }
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  checkOperands('matmul', a, b);
  inner('matmul', a, b);
  if (a.ndim === 1 && b.ndim === 1) {
    return renamed(squeeze(squeeze(P.matmul(unsqueeze(a, 0), unsqueeze(b, 1)), 1), 0), 'DotBackward0', a, b);
  }
  if (a.ndim === 2 && b.ndim === 1) return renamed(squeeze(P.matmul(a, unsqueeze(b, 1)), 1), 'MvBackward0', a, b);
  if (a.ndim === 1) return squeeze(P.matmul(unsqueeze(a, 0), b), -2);
  if (b.ndim === 1) return squeeze(P.matmul(a, unsqueeze(b, 1)), -1);
  broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = P.matmul(a, b);
  return a.ndim === 2 && b.ndim === 2 ? out : renamed(out, 'BmmBackward0', a, b);
}

export function mm(a: Tensor, b: Tensor): Tensor {
  checkOperands('mm', a, b);
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new RangeError(`mm: both arguments must be matrices, got ${a.ndim}D and ${b.ndim}D tensors`);
  }
  inner('mm', a, b);
  return P.matmul(a, b);
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  checkOperands('bmm', a, b);
  if (a.ndim !== 3 || b.ndim !== 3) {
    throw new RangeError(`bmm: batch1 and batch2 must be 3D tensors, got ${a.ndim}D and ${b.ndim}D`);
  }
  if (a.shape[0] !== b.shape[0]) {
    throw new RangeError(`bmm: batch sizes must match, got ${a.shape[0]} and ${b.shape[0]} (shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)})`);
  }
  inner('bmm', a, b);
  return renamed(P.matmul(a, b), 'BmmBackward0', a, b);
}
