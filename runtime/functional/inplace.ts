/**
 * In-place ops. The new value is computed out of place, then written into the tensor's storage
 * through dispatch, and the version counter moves so autograd can catch stale saved tensors.
 * Autograd history is rebased onto the result; for a view, the base gets a CopySlices node.
 */
import { Tensor, type TensorOrScalar } from '../tensor.js';
import { dispatch, type PrimDef } from '../dispatch.js';
import { gradMode, noGrad } from '../autograd/mode.js';
import { Node, SavedTensor } from '../autograd/node.js';
import { rules } from '../autograd/rules.js';
import * as P from '../prims.js';
import type { BinaryAttrs } from '../prims.js';
import { isFloating, type DType } from '../dtype.js';
import { sameShape, shapeStr } from '../shape.js';
import { generatorFor } from '../random.js';
import { fromHost, full } from './creation.js';
import { expand } from './movement.js';
import { checkAlpha, resultType, scalarLike } from './elementwise.js';
import { broadcastShapes } from '../shape.js';
import type { BinaryOp, UnaryOp } from '../ops.js';

const writeDef: PrimDef<{ into: Tensor }> = {
  op: 'copy',
  gradName: '',
  backward: null,
  forward: ([src], { into }) => {
    if (into.numel()) into.storage.backend.copy(into, P.broadcastArg(src, into.shape));
    into.storage.version++;
    return into;
  },
};

const rank = (d: DType) => (d === 'bool' ? 0 : d === 'int32' ? 1 : 2);

function checkTarget(self: Tensor, name: string, others: readonly unknown[]): boolean {
  const recording = gradMode.enabled && (self.requiresGrad || others.some((o) => o instanceof Tensor && o.requiresGrad));
  if (gradMode.enabled && self.requiresGrad) {
    if (self.isLeaf && self._base === null) {
      throw new Error(`${name}: a leaf Variable that requires grad is being used in an in-place operation.`);
    }
    if (self._base !== null && self._base.isLeaf && self._base.requiresGrad) {
      throw new Error(`${name}: a view of a leaf Variable that requires grad is being used in an in-place operation.`);
    }
  }
  return recording;
}

export function inplace<T extends Tensor>(self: T, compute: (x: Tensor) => Tensor, name: string, ...others: unknown[]): T {
  const recording = checkTarget(self, name, others);
  const r = compute(self);
  if (rank(r.dtype) > rank(self.dtype)) {
    throw new TypeError(`${name}: result type ${r.dtype} can't be cast to the desired output type ${self.dtype}`);
  }
  if (!sameShape(r.shape, self.shape)) {
    throw new RangeError(`${name}: output with shape ${shapeStr(self.shape)} doesn't match the broadcast shape ${shapeStr(r.shape)}`);
  }
  const value = r.dtype === self.dtype ? r : noGrad(() => P.copy(r, self.dtype));
  if (recording && r._gradFn) protectSaved(r._gradFn, self);
  dispatch(writeDef, [value], { into: self });
  if (recording && r.requiresGrad) rebase(self, r);
  return self;
}

/** The result's node may have saved self itself; keep the value it saw before the write. */
function protectSaved(node: Node, self: Tensor): void {
  const saved = node.savedTensors;
  if (!saved) return;
  for (let i = 0; i < saved.length; i++) {
    if (saved[i].tensor.storage === self.storage) {
      saved[i] = new SavedTensor(noGrad(() => P.copy(saved[i].tensor)));
    }
  }
}

function rebase(self: Tensor, r: Tensor): void {
  const base = self._base;
  if (base === null) {
    self._gradFn = r._gradFn;
    self._requiresGrad = true;
    return;
  }
  // The base now holds r in the region the view selects: a CopySlices node joins the two histories.
  const steps = self._viewSteps!;
  const rule = rules.sliceScatter!;
  base._gradFn = new Node(rule.name, rule.backward, [base._gradEdge(), r._gradEdge()], { steps }, [base.shape, r.shape], [base.dtype, r.dtype], []);
  base._requiresGrad = true;
  const replay = P.applyViews(base, steps);
  self._gradFn = replay._gradFn;
  self._requiresGrad = true;
}

const binaryInplaceDefs = new Map<BinaryOp, PrimDef<{ into: Tensor; alpha?: number }>>();

/**
 * self op= other. When nothing is recorded (optimizer steps under noGrad), the kernel writes
 * straight into self: no temporary, one pass.
 */
export function binary_<T extends Tensor>(
  self: T,
  op: BinaryOp,
  other: TensorOrScalar,
  name: string,
  compute: (x: Tensor) => Tensor,
  alpha = 1,
): T {
  const recording = gradMode.enabled && (self.requiresGrad || (other instanceof Tensor && other.requiresGrad));
  if (alpha !== 1) checkAlpha(name, resultType(self, other), alpha);
  if (other instanceof Tensor) checkNoPartialOverlap(name, self, other);
  // Recorded add_ and sub_ on a tensor that is not a view also write in one pass: their gradient
  // rule saves nothing, so overwriting self loses nothing backward needs (Note [Recorded in-place]).
  const recordable = recording && (op === 'add' || op === 'sub') && self._base === null && isFloating(self.dtype);
  if ((!recording || recordable) && (op !== 'div' || isFloating(self.dtype))) {
    const dtype = resultType(self, other);
    const o = other instanceof Tensor ? other : scalarLike(self, Number(other), self.dtype);
    if (dtype === self.dtype && o.dtype === self.dtype && o.device === self.device && o.storage.backend === self.storage.backend) {
      const bs = broadcastShapes(name, self.shape, o.shape);
      if (sameShape(bs, self.shape) && !overlapsWithin(self)) {
        if (recording) {
          checkTarget(self, name, [other]);
          dispatch(recordedIntoDef(op as 'add' | 'sub'), [self, o], alpha === 1 ? null : { alpha });
        } else {
          dispatch(binaryIntoDef(op), [self, o], alpha === 1 ? { into: self } : { into: self, alpha });
        }
        return self;
      }
    }
  }
  return inplace(self, compute, name, other);
}

/** into = x op y (y scaled by alpha for add/sub), written in place; the version counter moves. */
function writeBinary(op: BinaryOp, into: Tensor, x: Tensor, y: Tensor, alpha: number | undefined): Tensor {
  if (into.numel()) into.storage.backend.binary(op, into, P.broadcastArg(x, into.shape), P.broadcastArg(y, into.shape), alpha);
  into.storage.version++;
  return into;
}

function binaryIntoDef(op: BinaryOp): PrimDef<{ into: Tensor; alpha?: number }> {
  let d = binaryInplaceDefs.get(op);
  if (!d) {
    d = {
      op,
      gradName: '',
      backward: null,
      forward: ([x, y], { into, alpha }) => writeBinary(op, into, x, y, alpha),
    };
    binaryInplaceDefs.set(op, d);
  }
  return d;
}

// Note [Recorded in-place]: x.add_(y) while recording is the add primitive with x as its own
// output. dispatch records the node as for any op, reading x's old edge before making the new
// node x's gradFn, so the history runs x(new) <- AddBackward0 <- x(old), y. The version counter
// moves, so a node that saved x's old value refuses to run backward, as in PyTorch. Views go the
// generic way (their base needs a CopySlices node), and so do ops whose rule saves self (mul_,
// div_): the saved value would be the overwritten one.
const recordedIntoDefs = new Map<'add' | 'sub', PrimDef<BinaryAttrs>>();
function recordedIntoDef(op: 'add' | 'sub'): PrimDef<BinaryAttrs> {
  let d = recordedIntoDefs.get(op);
  if (!d) {
    const rule = rules[op]!;
    d = {
      op,
      gradName: rule.name,
      backward: rule.backward,
      forward: ([x, y], attrs) => writeBinary(op, x, x, y, attrs?.alpha),
    };
    recordedIntoDefs.set(op, d);
  }
  return d;
}

const unaryInplaceDefs = new Map<UnaryOp, PrimDef<{ into: Tensor }>>();

/**
 * self = op(self). When nothing is recorded and self is floating, the kernel reads and writes self
 * in one pass, as binary_ does; otherwise the generic path computes a result and copies it back.
 */
export function unary_<T extends Tensor>(self: T, op: UnaryOp, name: string, compute: (x: Tensor) => Tensor): T {
  if (!(gradMode.enabled && self.requiresGrad) && isFloating(self.dtype) && !overlapsWithin(self)) {
    let d = unaryInplaceDefs.get(op);
    if (!d) {
      d = {
        op,
        gradName: '',
        backward: null,
        forward: ([x], { into }) => {
          if (into.numel()) into.storage.backend.unary(op, into, x);
          into.storage.version++;
          return into;
        },
      };
      unaryInplaceDefs.set(op, d);
    }
    dispatch(d, [self], { into: self });
    return self;
  }
  return inplace(self, compute, name);
}

/**
 * out = a + alpha * b (or another binary op) written into `out`, PyTorch's out= form, for the
 * optimizers' one-pass updates such as momentum's buf = grad + momentum * buf. a and b have out's
 * dtype and device and broadcast to its shape; an operand sharing out's memory must be out itself.
 * Nothing is recorded: call it where no gradient is wanted.
 */
export function binaryInto(out: Tensor, op: BinaryOp, a: Tensor, b: Tensor, alpha = 1): Tensor {
  const name = `${op} (out=)`;
  if (gradMode.enabled && (out.requiresGrad || a.requiresGrad || b.requiresGrad)) {
    throw new Error(`${name}: writes outside the graph; call it under noGrad`);
  }
  for (const t of [a, b]) {
    if (t.dtype !== out.dtype || t.device !== out.device || t.storage.backend !== out.storage.backend) {
      throw new TypeError(`${name}: operands must have the output's dtype ${out.dtype} and device ${out.device}, got ${t.dtype} on ${t.device}`);
    }
    const same = t.storage !== out.storage || (t.offset === out.offset && sameShape(t.shape, out.shape) && t.strides.every((st, i) => st === out.strides[i]));
    if (!same) throw new Error(`${name}: an operand shares memory with the output without being the output itself`);
  }
  if (!sameShape(broadcastShapes(name, broadcastShapes(name, a.shape, b.shape), out.shape), out.shape)) {
    throw new RangeError(`${name}: operands of shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} do not broadcast to the output's ${shapeStr(out.shape)}`);
  }
  if (alpha !== 1) checkAlpha(name, out.dtype, alpha);
  if (overlapsWithin(out)) throw new Error(`${name}: the output is an expanded view; write into a contiguous tensor`);
  dispatch(binaryIntoDef(op), [a, b], alpha === 1 ? { into: out } : { into: out, alpha });
  return out;
}

/**
 * PyTorch refuses an in-place op whose input shares some, but not exactly, the memory it writes
 * (x.add_(x.t())): element by element, the op would read values it has already overwritten.
 * Its rule (get_overlap_status): only tensors that are dense permutations of contiguous memory
 * are compared; the same range with other strides, or intersecting ranges, is a partial overlap.
 */
export function checkNoPartialOverlap(name: string, self: Tensor, input: Tensor): void {
  if (input.storage !== self.storage || self.numel() === 0 || input.numel() === 0) return;
  if (!isDense(self) || !isDense(input)) return;
  const a0 = self.offset;
  const b0 = input.offset;
  const a1 = a0 + self.numel();
  const b1 = b0 + input.numel();
  if (a0 === b0 && a1 === b1) {
    const kept = (t: Tensor) => t.strides.filter((_, i) => t.shape[i] !== 1);
    const [sa, sb] = [kept(self), kept(input)];
    if (sa.length === sb.length && sa.every((st, i) => st === sb[i])) return;
  } else if (!(a0 < b1 && b0 < a1)) return;
  throw new Error(
    `${name}: unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location. ` +
      'Please clone() the tensor before performing the operation.',
  );
}

/** Whether t covers a block of numel() elements exactly once: contiguous up to a permutation of dims. */
function isDense(t: Tensor): boolean {
  const dims = t.shape.map((n, i) => [n, t.strides[i]] as const).filter(([n]) => n !== 1);
  dims.sort((x, y) => x[1] - y[1]);
  let expected = 1;
  for (const [n, st] of dims) {
    if (st !== expected) return false;
    expected *= n;
  }
  return true;
}

/** An expanded view (stride 0 on a dim of size > 1) cannot be written element by element. */
function overlapsWithin(t: Tensor): boolean {
  for (let i = 0; i < t.ndim; i++) if (t.strides[i] === 0 && t.shape[i] > 1) return true;
  return false;
}

export function fill_<T extends Tensor>(self: T, value: number): T {
  return inplace(self, (x) => full(x.shape, value, { dtype: x.dtype, device: x.device }), 'fill_');
}

export function copy_<T extends Tensor>(self: T, src: Tensor): T {
  if (!(src instanceof Tensor)) throw new TypeError('copy_: expected a Tensor as the source');
  return inplace(
    self,
    (x) => {
      let s = src.device === x.device ? src : src.to(x.device);
      if (s.dtype !== x.dtype) s = P.copy(s, x.dtype);
      return sameShape(s.shape, x.shape) ? P.copy(s) : expand(s, x.shape);
    },
    'copy_',
    src,
  );
}

export function random_<T extends Tensor>(self: T, kind: 'uniform' | 'normal', a: number, b: number): T {
  if (!isFloating(self.dtype)) throw new TypeError(`${kind}_: expected a floating point tensor, got ${self.dtype}`);
  const g = generatorFor(self.device);
  const n = self.numel();
  const vals = new Float64Array(n);
  if (kind === 'uniform') g.fillUniform(vals, a, b);
  else g.fillNormal(vals, a, b);
  return inplace(self, (x) => fromHost(vals, x.shape, x.dtype, x.device), `${kind}_`);
}

