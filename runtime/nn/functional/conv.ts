/**
 * conv2d, maxPool2d and avgPool2d, built from the runtime's primitives: unfold with one
 * `indexSelect` over the flattened spatial dims (the index is computed once per geometry and
 * cached; pooling pads with `cat` first, conv2d points padding at a zero plane), then `matmul`
 * (conv), `max(dim)` (max pooling, gradient to the first maximum as PyTorch) or `sum` (average
 * pooling). Backward comes from the primitives' rules.
 */
import { Tensor } from '../../tensor.js';
import { fromHost, full } from '../../functional/creation.js';
import { add, div } from '../../functional/elementwise.js';
import { cat, permute, reshape, unsqueeze, squeeze } from '../../functional/movement.js';
import { contiguous } from '../../functional/convert.js';
// the prim, not functional/indexing's indexSelect: these indices are made here, in range and
// non-negative, so reading them back to the host every call to check and wrap them is waste
// (the native kernel still checks them)
import { indexSelect } from '../../prims.js';
import { matmul } from '../../functional/linalg.js';
import { sum } from '../../functional/reduce.js';
import { keep } from '../../memory.js';
import { isFloating } from '../../dtype.js';
import { shapeStr } from '../../shape.js';

export type Pair = number | readonly [number, number];

function pair(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

function checkInput4d(op: string, x: Tensor): { x: Tensor; unbatched: boolean } {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected input to be a Tensor`);
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new RangeError(`${op}: Expected 3D (unbatched) or 4D (batched) input, but got input of shape ${shapeStr(x.shape)}`);
  }
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating point input, got ${x.dtype}`);
  return x.ndim === 3 ? { x: unsqueeze(x, 0), unbatched: true } : { x, unbatched: false };
}

/** Pads the last two dims: [top, bottom, left, right] with a constant. */
export function pad2d(x: Tensor, [t, b, l, r]: readonly number[], value = 0): Tensor {
  let out = x;
  const opts = { dtype: x.dtype, device: x.device };
  if (l || r) {
    const s = out.shape.slice();
    const parts: Tensor[] = [];
    if (l) parts.push(full([...s.slice(0, -1), l], value, opts));
    parts.push(out);
    if (r) parts.push(full([...s.slice(0, -1), r], value, opts));
    out = cat(parts, -1);
  }
  if (t || b) {
    const s = out.shape.slice();
    const parts: Tensor[] = [];
    if (t) parts.push(full([...s.slice(0, -2), t, s[s.length - 1]], value, opts));
    parts.push(out);
    if (b) parts.push(full([...s.slice(0, -2), b, s[s.length - 1]], value, opts));
    out = cat(parts, -2);
  }
  return out;
}

interface Geometry {
  Hp: number;
  Wp: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  oh: number;
  ow: number;
}

const indexCache = new Map<string, Tensor>();

/**
 * Flat spatial positions of every (kernel offset, output position) pair in a padded [Hp, Wp]
 * plane. 'kernel-major' orders them [kk][l] (conv: columns [C*KK, L]); 'window-major' [l][kk]
 * (pooling: windows [L, KK] reduced over the last dim).
 */
function unfoldIndex(g: Geometry, order: 'kernel-major' | 'window-major', device: string): Tensor {
  const key = `${order}|${device}|${g.Hp},${g.Wp},${g.kh},${g.kw},${g.sh},${g.sw},${g.dh},${g.dw},${g.oh},${g.ow}`;
  return cachedIndex(key, device, () => {
    const KK = g.kh * g.kw;
    const L = g.oh * g.ow;
    const idx = new Int32Array(KK * L);
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const k = i * g.kw + j;
        for (let y = 0; y < g.oh; y++) {
          for (let x = 0; x < g.ow; x++) {
            const l = y * g.ow + x;
            const pos = (y * g.sh + i * g.dh) * g.Wp + x * g.sw + j * g.dw;
            idx[order === 'kernel-major' ? k * L + l : l * KK + k] = pos;
          }
        }
      }
    }
    return idx;
  });
}

/**
 * conv2d's columns over `batch` unpadded [H, W] planes laid end to end, ordered [kk][n][l];
 * a position in the padding points at element batch*H*W, the zero plane conv2d appends.
 */
function batchedColumnIndex(g: Geometry, H: number, W: number, pads: readonly number[], batch: number, device: string): Tensor {
  const key = `columns|${device}|${batch}|${H},${W},${pads.join(',')}|${g.kh},${g.kw},${g.sh},${g.sw},${g.dh},${g.dw},${g.oh},${g.ow}`;
  return cachedIndex(key, device, () => {
    const KK = g.kh * g.kw;
    const L = g.oh * g.ow;
    const plane = H * W;
    const zero = batch * plane;
    const idx = new Int32Array(KK * L * batch);
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const k = i * g.kw + j;
        for (let y = 0; y < g.oh; y++) {
          const r = y * g.sh + i * g.dh - pads[0];
          for (let x = 0; x < g.ow; x++) {
            const c = x * g.sw + j * g.dw - pads[2];
            const inside = r >= 0 && r < H && c >= 0 && c < W;
            const l = y * g.ow + x;
            for (let n = 0; n < batch; n++) idx[(k * batch + n) * L + l] = inside ? n * plane + r * W + c : zero;
          }
        }
      }
    }
    return idx;
  });
}

function cachedIndex(key: string, device: string, make: () => Int32Array): Tensor {
  let t = indexCache.get(key);
  if (t && !t.storage.freed) return t;
  const idx = make();
  if (indexCache.size > 256) indexCache.clear();
  t = keep(fromHost(idx, [idx.length], 'int32', device as Tensor['device']));
  indexCache.set(key, t);
  return t;
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair | 'valid' | 'same';
  dilation?: Pair;
  groups?: number;
}

/** 2-D convolution (cross-correlation, as PyTorch) of x [N, C, H, W] with w [O, C/groups, kH, kW]. */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const { x, unbatched } = checkInput4d(op, input);
  if (!(weight instanceof Tensor) || weight.ndim !== 4) {
    throw new RangeError(`${op}: expected a 4-D weight [out_channels, in_channels/groups, kH, kW], got ${weight instanceof Tensor ? shapeStr(weight.shape) : typeof weight}`);
  }
  if (weight.dtype !== x.dtype) {
    throw new TypeError(`${op}: Input type (${x.dtype}) and weight type (${weight.dtype}) should be the same`);
  }
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  if (C !== Cg * groups) {
    throw new RangeError(
      `${op}: Given groups=${groups}, weight of size ${shapeStr(weight.shape)}, expected input${shapeStr(x.shape)} to have ${Cg * groups} channels, but got ${C} channels instead`,
    );
  }
  if (O % groups !== 0) throw new RangeError(`${op}: out_channels (${O}) must be divisible by groups (${groups})`);
  if (bias != null && (bias.ndim !== 1 || bias.shape[0] !== O)) {
    throw new RangeError(`${op}: expected bias of shape [${O}], got ${shapeStr(bias.shape)}`);
  }
  const [sh, sw] = pair(op, 'stride', opts.stride ?? 1, 1);
  const [dh, dw] = pair(op, 'dilation', opts.dilation ?? 1, 1);
  let pads: [number, number, number, number];
  const padding = opts.padding ?? 0;
  if (padding === 'valid') pads = [0, 0, 0, 0];
  else if (padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new RangeError(`${op}: padding='same' is not supported for strided convolutions`);
    const th = dh * (kh - 1);
    const tw = dw * (kw - 1);
    pads = [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)];
  } else {
    const [ph, pw] = pair(op, 'padding', padding, 0);
    pads = [ph, ph, pw, pw];
  }
  const Hp = H + pads[0] + pads[1];
  const Wp = W + pads[2] + pads[3];
  const ekh = dh * (kh - 1) + 1;
  const ekw = dw * (kw - 1) + 1;
  if (ekh > Hp || ekw > Wp) {
    throw new RangeError(
      `${op}: Calculated padded input size per channel: (${Hp} x ${Wp}). Kernel size: (${ekh} x ${ekw}). Kernel size can't be greater than actual input size`,
    );
  }
  const oh = Math.floor((Hp - ekh) / sh) + 1;
  const ow = Math.floor((Wp - ekw) / sw) + 1;
  const g: Geometry = { Hp, Wp, kh, kw, sh, sw, dh, dw, oh, ow };
  const KK = kh * kw;
  const L = oh * ow;
  let out: Tensor;
  if (groups === 1 && KK * N * L <= BATCHED_INDEX_MAX) {
    // See Note [Channels-first columns]: [C, N*H*W (+ a zero plane)] -> [C, KK*N*L] -> columns [C*KK, N*L]
    const planes = reshape(permute(x, [1, 0, 2, 3]), [C, N, H * W]);
    const padded = pads.some((p) => p !== 0);
    // padding positions index the zero plane appended after the batch, so the input is copied
    // once (the permute) and never padded
    const src = padded ? cat([planes, full([C, 1, H * W], 0, { dtype: x.dtype, device: x.device })], 1) : planes;
    const idx = batchedColumnIndex(g, H, W, pads, N, x.device);
    const cols = reshape(indexSelect(reshape(src, [C, (padded ? N + 1 : N) * H * W]), 1, idx), [C * KK, N * L]);
    let flat = matmul(reshape(weight, [O, C * KK]), cols);
    // the bias goes on in this layout, where its gradient is a sum along contiguous rows
    if (bias != null) flat = add(flat, reshape(bias, [O, 1]));
    out = contiguous(permute(reshape(flat, [O, N, oh, ow]), [1, 0, 2, 3]));
  } else {
    const padded = pad2d(x, pads);
    const idx = unfoldIndex(g, 'kernel-major', x.device);
    // [N, C, Hp*Wp] -> [N, C, KK*L] -> columns [N, groups, Cg*KK, L]
    const cols = indexSelect(reshape(padded, [N, C, Hp * Wp]), 2, idx);
    const w3 = reshape(weight, [groups, O / groups, Cg * KK]);
    out = reshape(matmul(w3, reshape(cols, [N, groups, Cg * KK, L])), [N, O, oh, ow]);
    if (bias != null) out = add(out, reshape(bias, [1, O, 1, 1]));
  }
  return unbatched ? squeeze(out, 0) : out;
}

/** Entries (int32) above which conv2d's batched column index is not worth caching (64 MiB). */
const BATCHED_INDEX_MAX = 1 << 24;

// Note [Channels-first columns]: the plain im2col layout, columns [N, C*KK, L] times a weight
// broadcast over the batch, makes N small matmuls forward, and backward N more whose [N, O, C*KK]
// products are then summed over the batch for the weight gradient. With the batch folded into the
// columns, [C*KK, N*L], forward and both backward products are each one 2-D matmul and nothing is
// summed. The price is one copy of the input in [C, N, H*W] order, which also appends the zero
// plane padding positions point at (no padded copy is made), and an index that grows with the
// batch (cached per batch size; past BATCHED_INDEX_MAX entries the per-sample layout is used).
// The digits CNN's epoch was ~13% faster (bench/, digits_cnn_epoch), with indexSelect's
// row-wise path for the last dim (src/indexing.cc) that this index needs.

export interface PoolOptions {
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

interface PoolPlan {
  x: Tensor;
  unbatched: boolean;
  geometry: Geometry;
  pads: [number, number, number, number];
}

function outSize(op: string, size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // the last window must start inside the input or its left padding
  if (ceil && (o - 1) * s >= size + p) o--;
  if (o < 1) throw new RangeError(`${op}: Given input size (${size}), kernel ${k}, padding ${p}, dilation ${d}: output size is too small (${o})`);
  return o;
}

function planPool(op: string, input: Tensor, kernelSize: Pair, opts: PoolOptions, allowDilation: boolean): PoolPlan {
  const { x, unbatched } = checkInput4d(op, input);
  const [kh, kw] = pair(op, 'kernel_size', kernelSize, 1);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? [kh, kw], 1);
  const [ph, pw] = pair(op, 'padding', opts.padding ?? 0, 0);
  const [dh, dw] = allowDilation ? pair(op, 'dilation', opts.dilation ?? 1, 1) : [1, 1];
  if (ph > (dh * (kh - 1) + 1) / 2 || pw > (dw * (kw - 1) + 1) / 2) {
    throw new RangeError(`${op}: pad should be at most half of effective kernel size, but got pad=${ph}, kernel_size=${kh} and dilation=${dh}`);
  }
  const [, , H, W] = x.shape;
  const ceil = opts.ceilMode ?? false;
  const oh = outSize(op, H, kh, sh, ph, dh, ceil);
  const ow = outSize(op, W, kw, sw, pw, dw, ceil);
  // ceil mode can reach past the right padding: pad that far too
  const needH = (oh - 1) * sh + dh * (kh - 1) + 1;
  const needW = (ow - 1) * sw + dw * (kw - 1) + 1;
  const pads: [number, number, number, number] = [ph, Math.max(ph, needH - H - ph), pw, Math.max(pw, needW - W - pw)];
  const Hp = H + pads[0] + pads[1];
  const Wp = W + pads[2] + pads[3];
  return { x, unbatched, pads, geometry: { Hp, Wp, kh, kw, sh, sw, dh, dw, oh, ow } };
}

/** Windows of the padded input as [N, C, L, KK]. */
function windows(plan: PoolPlan, fill: number): Tensor {
  const { x, pads, geometry: g } = plan;
  const [N, C] = x.shape;
  const padded = pads.some((p) => p) ? pad2d(x, pads, fill) : x;
  const idx = unfoldIndex(g, 'window-major', x.device);
  const w = indexSelect(reshape(padded, [N, C, g.Hp * g.Wp]), 2, idx);
  return reshape(w, [N, C, g.oh * g.ow, g.kh * g.kw]);
}

export function maxPool2d(input: Tensor, kernelSize: Pair, opts: PoolOptions = {}): Tensor {
  const plan = planPool('maxPool2d', input, kernelSize, opts, true);
  const [N, C] = plan.x.shape;
  const out = reshape(windows(plan, -Infinity).max(3).values, [N, C, plan.geometry.oh, plan.geometry.ow]);
  return plan.unbatched ? squeeze(out, 0) : out;
}

export interface AvgPoolOptions extends PoolOptions {
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

export function avgPool2d(input: Tensor, kernelSize: Pair, opts: AvgPoolOptions = {}): Tensor {
  const plan = planPool('avgPool2d', input, kernelSize, { ...opts, dilation: 1 }, false);
  const { x, geometry: g, pads } = plan;
  const [N, C, H, W] = x.shape;
  const ph = pads[0];
  const pw = pads[2];
  // PyTorch's divisor per output position: the window clipped to input + padding, or to the input
  const divisor = new Float64Array(g.oh * g.ow);
  for (let y = 0; y < g.oh; y++) {
    for (let xo = 0; xo < g.ow; xo++) {
      let hs = y * g.sh - ph;
      let ws = xo * g.sw - pw;
      let he = Math.min(hs + g.kh, H + ph);
      let we = Math.min(ws + g.kw, W + pw);
      const poolSize = (he - hs) * (we - ws);
      hs = Math.max(hs, 0);
      ws = Math.max(ws, 0);
      he = Math.min(he, H);
      we = Math.min(we, W);
      const d = opts.divisorOverride ? opts.divisorOverride : opts.countIncludePad === false ? (he - hs) * (we - ws) : poolSize;
      divisor[y * g.ow + xo] = d;
    }
  }
  const summed = sum(windows(plan, 0), 3);
  const out = reshape(div(summed, fromHost(divisor, [g.oh * g.ow], x.dtype, x.device)), [N, C, g.oh, g.ow]);
  return plan.unbatched ? squeeze(out, 0) : out;
}
