/** Scalar definitions of the elementwise primitives, in float64. */
import type { DType } from '../../dtype.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../../ops.js';

/** erf to full double precision (W. J. Cody's rational approximations, as in most libms). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 0.5) {
    const t = x * x;
    const p = (((0.18577770618460315 * t + 3.1611237438705655) * t + 113.86415415105016) * t + 377.485237685302) * t + 3209.3775891384694;
    const q = ((((t + 23.601290952344122) * t + 244.02463793444417) * t + 1282.6165260773723) * t + 2844.2368334391704);
    return (x * p) / q;
  }
  return x < 0 ? -(1 - erfcPos(ax)) : 1 - erfcPos(ax);
}

function erfcPos(x: number): number {
  if (x >= 27) return 0;
  let r: number;
  if (x < 4) {
    const p = [5.6418849698867008e-1, 8.8831497943883759, 6.6119190637141634e1, 2.9863513819740013e2, 8.8195222124176909e2, 1.7120476126340707e3, 2.0510783778260716e3, 1.2303393547979972e3, 2.1531153547440383e-8];
    const q = [1.5744926110709835e1, 1.1769395089131750e2, 5.3718110186200999e2, 1.6213895745666903e3, 3.2907992357334823e3, 4.3626190901432471e3, 3.4393676741437216e3, 1.2303393548037495e3];
    let num = p[8] * x;
    let den = x;
    for (let i = 0; i < 7; i++) {
      num = (num + p[i]) * x;
      den = (den + q[i]) * x;
    }
    r = (num + p[7]) / (den + q[7]);
  } else {
    const p = [3.0532663496123236e-1, 3.6034489994980445e-1, 1.2578172611122926e-1, 1.6083785148742275e-2, 6.5874916152983678e-4, 1.6315387137302097e-2];
    const q = [2.5685201922898682, 1.8729528499234604, 5.2790510295142482e-1, 6.0518341312441320e-2, 2.3352049762686918e-3];
    const z = 1 / (x * x);
    let num = p[5] * z;
    let den = z;
    for (let i = 0; i < 4; i++) {
      num = (num + p[i]) * z;
      den = (den + q[i]) * z;
    }
    r = (z * (num + p[4])) / (den + q[4]);
    r = (0.5641895835477563 - r) / x;
  }
  // exp(-x^2) split to keep precision, as Cody does
  const xs = Math.trunc(x * 16) / 16;
  const del = (x - xs) * (x + xs);
  return Math.exp(-xs * xs) * Math.exp(-del) * r;
}

export const unaryFn: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0),
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => (Number.isNaN(x) ? NaN : x > 0 ? x : 0),
  erf,
  logicalNot: (x) => (x === 0 ? 1 : 0),
};

export function binaryFn(op: BinaryOp, dtype: DType): (a: number, b: number) => number {
  const int = dtype === 'int32' || dtype === 'bool';
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      // integer division only arises for floor-less int tensors; PyTorch's div promotes them first
      return int ? (a, b) => Math.trunc(a / b) : (a, b) => a / b;
    case 'pow':
      return int ? intPow : (a, b) => (a === 1 || b === 0 ? 1 : Math.pow(a, b));
    case 'maximum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
    case 'minimum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));
    case 'reluBackward':
      return (a, b) => (b <= 0 ? 0 : a);
  }
}

export const compareFn: Record<CompareOp, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
};

/**
 * Integer power as PyTorch computes it: exact, by squaring, wrapping around on int32 overflow;
 * a negative exponent gives 0 except for bases 1 and -1.
 */
export function intPow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  let result = 1;
  let base = a | 0;
  let e = b;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
    e = Math.floor(e / 2);
  }
  return result;
}
