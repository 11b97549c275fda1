// What the tensor views read from a tensor: summary statistics, edge slices and block reductions,
// all computed on the tensor's own device so that only a handful of numbers reach JavaScript.
// See Note [reading little].
import type { Tensor } from '../tensor.js';
import { isFloating } from '../dtype.js';
import { noGrad } from '../autograd/mode.js';
import { tidy } from '../memory.js';
import { narrow, reshape, select, slice, unsqueeze } from '../functional/movement.js';
import { full, zeros } from '../functional/creation.js';
import { flags } from '../flags.js';
import { where } from '../functional/elementwise.js';
import * as P from '../prims.js';

/**
 * Note [reading little]
 * A tensor may hold 10^8 elements or live on a GPU; a display must cost little either way. So
 * every number a view shows comes from a reduction run where the tensor lives (amin, amax, sum,
 * block sums over reshaped views) or from narrow/select views of the few elements a table shows,
 * and only those results are read back. Reductions go over chunks of a few million elements so
 * their temporaries (casts, masks, squares) stay small, temporaries are freed at once (tidy), and
 * nothing is recorded for autograd (noGrad): displaying never changes what backward will do.
 *
 * NaN and infinities are counted, then masked out of min, max, mean and std, because a person
 * looking at a tensor with one NaN still wants to know the range of the rest. Whether there are
 * any is learnt from the plain sum first: a sum is finite only if every element is, so the usual
 * all-finite tensor pays for no masks. (A finite tensor whose float32 sum overflows takes the
 * slow path, is counted as having no NaN or inf, and shows an infinite mean, as torch.mean.)
 */

export interface TensorStats {
  numel: number;
  nan: number;
  posinf: number;
  neginf: number;
  /** How many values min, max, mean and std are over (numel less NaN and ±inf). */
  finite: number;
  /** NaN when there is no finite value. */
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (N - 1), as torch.std; NaN for fewer than 2 finite values. */
  std: number;
}

/** The dtype statistics are computed in: int32 sums overflow in int32 and halves lose digits. */
function statsDtype(t: Tensor): 'float32' | 'float64' {
  if (t.dtype === 'float64' || t.dtype === 'int32') return 'float64';
  return 'float32';
}

/** The values as a floating tensor on the same device (t itself when it already is one). */
export function asFloat(t: Tensor, dtype: 'float32' | 'float64' = statsDtype(t)): Tensor {
  if (t.dtype === dtype || (isFloating(t.dtype) && t.dtype !== 'float16' && t.dtype !== 'bfloat16')) return t;
  return t.to(dtype);
}

/** A bool mask of the finite elements (|x| < inf is false for NaN too). */
function finiteMask(x: Tensor): Tensor {
  return x.abs().lt(Infinity);
}

/**
 * Reductions run over views of about this many elements at a time, so that the temporaries
 * they make (casts, masks, squares) stay small next to a tensor that nearly fills a GPU.
 */
const CHUNK = 1 << 22;

/** Views of t along dim 0 of about CHUNK elements each (t itself when small or 0-d). */
function chunksOf(t: Tensor): Tensor[] {
  if (t.ndim === 0 || t.numel() <= CHUNK) return [t];
  const rows = Math.max(1, Math.floor(CHUNK / (t.numel() / t.shape[0]!)));
  const out: Tensor[] = [];
  for (let r = 0; r < t.shape[0]!; r += rows) out.push(narrow(t, 0, r, Math.min(rows, t.shape[0]! - r)));
  return out;
}

export function tensorStats(t: Tensor): TensorStats {
  const numel = t.numel();
  const s: TensorStats = { numel, nan: 0, posinf: 0, neginf: 0, finite: 0, min: NaN, max: NaN, mean: NaN, std: NaN };
  if (numel === 0 || t.storage.freed) return s;
  noGrad(() => {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    const clean: boolean[] = [];
    const parts = chunksOf(t);
    for (const part of parts) {
      tidy(() => {
        const x = asFloat(part);
        const partSum = x.sum().item();
        clean.push(Number.isFinite(partSum));
        if (Number.isFinite(partSum)) {
          sum += partSum;
          min = Math.min(min, x.amin().item());
          max = Math.max(max, x.amax().item());
          s.finite += x.numel();
          return;
        }
        const nan = x.ne(x).sum().item();
        const posinf = x.eq(Infinity).sum().item();
        const neginf = x.eq(-Infinity).sum().item();
        s.nan += nan;
        s.posinf += posinf;
        s.neginf += neginf;
        const finite = x.numel() - nan - posinf - neginf;
        if (finite === 0) return;
        const ok = finiteMask(x);
        sum += x.where(ok, 0).sum().item();
        min = Math.min(min, x.where(ok, Infinity).amin().item());
        max = Math.max(max, x.where(ok, -Infinity).amax().item());
        s.finite += finite;
      });
    }
    if (s.finite === 0) return;
    s.min = min;
    s.max = max;
    s.mean = sum / s.finite;
    if (s.finite < 2) return;
    // a second pass for the squares about the mean: E[x^2] - mean^2 would cancel away the
    // digits of a tensor whose spread is small next to its mean
    let ss = 0;
    parts.forEach((part, i) =>
      tidy(() => {
        const x = asFloat(part);
        const centred = clean[i] ? x.sub(s.mean) : x.sub(s.mean).where(finiteMask(x), 0);
        ss += centred.mul(centred).sum().item();
      }),
    );
    s.std = Math.sqrt(ss / (s.finite - 1));
  });
  return s;
}

/** How PyTorch's printer would summarise this tensor: edge items per dim, or null for all of it. */
export function summarisation(t: Tensor): number | null {
  return t.numel() > flags.printThreshold ? Math.max(1, flags.printEdgeitems) : null;
}

/**
 * The indices shown along a dim of size n: all of them, or the first and last `edge` with a gap
 * (null) between, as PyTorch's `get_summarized_data`.
 */
export function shownIndices(n: number, edge: number | null): (number | null)[] {
  if (edge === null || n <= 2 * edge) return Array.from({ length: n }, (_, i) => i);
  const head = Array.from({ length: edge }, (_, i) => i);
  const tail = Array.from({ length: edge }, (_, i) => n - edge + i);
  return [...head, null, ...tail];
}

/** The runs of consecutive indices in a shown-index list, as [start, length] pairs. */
function runs(indices: readonly (number | null)[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of indices) {
    if (i === null) continue;
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === i) last[1] += 1;
    else out.push([i, 1]);
  }
  return out;
}

/**
 * The values of a 0-, 1- or 2-D tensor at the shown rows and columns, read through narrow views
 * of each block of consecutive indices (at most four reads for a summarised matrix). Returns the
 * values row by row over the non-null rows and columns.
 */
export function readShown(t: Tensor, rows: readonly (number | null)[], cols: readonly (number | null)[]): number[][] {
  return noGrad(() =>
    tidy(() => {
      if (t.ndim === 0) return [[asFloat(t).item()]];
      const m = t.ndim === 1 ? unsqueeze(t, 0) : t;
      const rowRuns = t.ndim === 1 ? ([[0, 1]] as [number, number][]) : runs(rows);
      const colRuns = runs(cols);
      const out: number[][] = [];
      for (const [r0, rn] of rowRuns) {
        const block: number[][] = Array.from({ length: rn }, () => []);
        for (const [c0, cn] of colRuns) {
          const values = asFloat(narrow(narrow(m, 0, r0, rn), 1, c0, cn)).data();
          for (let r = 0; r < rn; r++) {
            for (let c = 0; c < cn; c++) block[r]!.push(Number(values[r * cn + c]));
          }
        }
        out.push(...block);
      }
      return out;
    }),
  );
}

/** The 2-D slice at leading indices `at` of an N-D tensor (a view; nothing is copied). */
export function sliceAt(t: Tensor, at: readonly number[]): Tensor {
  let s = t;
  for (const i of at) s = select(s, 0, i);
  return s;
}

export interface BlockMeans {
  /** Row-major [lead, oh, ow] means; NaN where a block holds a NaN (or both infinities). */
  values: Float64Array;
  lead: number;
  oh: number;
  ow: number;
  /** Elements per block side. */
  by: number;
  bx: number;
}

/**
 * Means of by x bx blocks over the last two dims of t (viewed as [lead, H, W]), on t's device:
 * every element contributes to one block, and a NaN anywhere in a block makes its mean NaN.
 * The whole blocks are one strided view summed at once; the ragged last row and column of
 * blocks are summed as three more views. Views, not padding, so nothing the size of t is
 * copied (unless t needs a cast, or is laid out so that no view of it has blocks).
 */
export function blockMeans(t: Tensor, by: number, bx: number): BlockMeans {
  const h = t.ndim >= 2 ? t.shape[t.ndim - 2]! : 1;
  const w = t.shape[t.ndim - 1]!;
  const lead = t.numel() / (h * w);
  const oh = Math.ceil(h / by);
  const ow = Math.ceil(w / bx);
  const fullRows = Math.floor(h / by);
  const fullCols = Math.floor(w / bx);
  const sums = new Float64Array(lead * oh * ow);
  noGrad(() =>
    tidy(() => {
      const x = reshape(asFloat(t, t.dtype === 'float64' ? 'float64' : 'float32'), [lead, h, w]);
      // rows: [first block, blocks, rows per block]; the same for columns
      const rowParts: [number, number, number][] = [[0, fullRows, by]];
      if (h > fullRows * by) rowParts.push([fullRows, 1, h - fullRows * by]);
      const colParts: [number, number, number][] = [[0, fullCols, bx]];
      if (w > fullCols * bx) colParts.push([fullCols, 1, w - fullCols * bx]);
      for (const [i0, ni, bi] of rowParts) {
        for (const [j0, nj, bj] of colParts) {
          if (ni === 0 || nj === 0) continue;
          const region = narrow(narrow(x, 1, i0 * by, ni * bi), 2, j0 * bx, nj * bj);
          const part = reshape(region, [lead, ni, bi, nj, bj]).sum([2, 4]).data();
          for (let l = 0; l < lead; l++) {
            for (let i = 0; i < ni; i++) {
              for (let j = 0; j < nj; j++) sums[(l * oh + i0 + i) * ow + j0 + j] = Number(part[(l * ni + i) * nj + j]);
            }
          }
        }
      }
    }),
  );
  for (let i = 0; i < oh; i++) {
    const rowsIn = Math.min(by, h - i * by);
    for (let j = 0; j < ow; j++) {
      const count = rowsIn * Math.min(bx, w - j * bx);
      for (let l = 0; l < lead; l++) sums[(l * oh + i) * ow + j] /= count;
    }
  }
  return { values: sums, lead, oh, ow, by, bx };
}

export interface Envelope {
  /** Per block of `block` consecutive elements: the least and greatest finite value (NaN if none). */
  lo: Float64Array;
  hi: Float64Array;
  /** Per block: whether it holds a NaN or an infinity (marked apart from the line). */
  bad: Uint8Array;
  block: number;
}

/**
 * Least and greatest finite values of consecutive blocks of a 1-D tensor, on its device (a
 * line drawn through block means would hide spikes; an envelope shows them). The ragged tail
 * is reduced separately so nothing is copied to pad it, and casts are made a group at a time.
 */
export function envelope(t: Tensor, block: number, hasBad: boolean): Envelope {
  const n = t.numel();
  const whole = Math.floor(n / block);
  const parts: { lo: ArrayLike<number>; hi: ArrayLike<number>; bad: ArrayLike<number> }[] = [];
  noGrad(() =>
    tidy(() => {
      const x = t;
      const reduce = (view: Tensor) => {
        const v = asFloat(view);
        if (!hasBad) {
          parts.push({ lo: v.amin(1).data(), hi: v.amax(1).data(), bad: new Uint8Array(v.shape[0]!) });
          return;
        }
        const ok = finiteMask(v);
        parts.push({
          lo: v.where(ok, Infinity).amin(1).data(),
          hi: v.where(ok, -Infinity).amax(1).data(),
          bad: where(ok, 0, 1).sum(1).data(),
        });
      };
      // groups of whole blocks of about CHUNK elements keep the masks' temporaries small
      const group = Math.max(1, Math.floor(CHUNK / block));
      for (let b0 = 0; b0 < whole; b0 += group) {
        const nb = Math.min(group, whole - b0);
        tidy(() => reduce(reshape(narrow(x, 0, b0 * block, nb * block), [nb, block])));
      }
      if (n > whole * block) reduce(reshape(narrow(x, 0, whole * block, n - whole * block), [1, n - whole * block]));
    }),
  );
  const count = parts.reduce((a, p) => a + p.lo.length, 0);
  const lo = new Float64Array(count);
  const hi = new Float64Array(count);
  const bad = new Uint8Array(count);
  let k = 0;
  for (const p of parts) {
    for (let i = 0; i < p.lo.length; i++, k++) {
      const l = Number(p.lo[i]);
      const h = Number(p.hi[i]);
      lo[k] = Number.isFinite(l) ? l : NaN;
      hi[k] = Number.isFinite(h) ? h : NaN;
      bad[k] = Number(p.bad[i]) > 0 ? 1 : 0;
    }
  }
  return { lo, hi, bad, block };
}

/** Past this many elements a histogram counts an evenly strided sample (see histogram). */
export const HISTOGRAM_SAMPLE = 1 << 20;

export interface Histogram {
  counts: number[];
  /** Every step-th element was counted (1: all of them). */
  step: number;
  /** How many were counted, non-finite ones included. */
  seen: number;
}

/**
 * Counts of the finite values of t in `bins` equal bins over [lo, hi], on t's device: bin
 * indices by arithmetic, then one scatterAdd of ones. See Note [histogram on device].
 */
export function histogram(t: Tensor, bins: number, lo: number, hi: number, hasBad: boolean): Histogram {
  const n = t.numel();
  const step = Math.ceil(n / HISTOGRAM_SAMPLE);
  let bad = 0;
  const counts = noGrad(() =>
    tidy(() => {
      let x = reshape(asFloat(t), [-1]);
      if (step > 1) x = slice(x, 0, 0, n, step);
      if (hasBad) {
        const ok = finiteMask(x);
        bad = where(ok, 0, 1).sum().item();
        x = x.where(ok, lo);
      }
      // x * scale - lo * scale rather than (x - lo) * scale: x - lo can overflow float32
      const scale = hi > lo ? bins / (hi - lo) : 0;
      const index = x.mul(scale).sub(lo * scale).clamp(0, bins - 1).int();
      const ones = full([1], 1, { dtype: 'int32', device: x.device }).expand(x.numel());
      const empty = zeros([bins], { dtype: 'int32', device: x.device });
      return P.scatterAdd(empty, 0, index, ones).data();
    }),
  );
  const out = Array.from(counts, Number);
  out[0] = out[0]! - bad;
  return { counts: out, step, seen: Math.ceil(n / step) };
}

/**
 * Note [histogram on device]
 * gb.scatterAdd checks its indices on the host, which would read every element of a big (or
 * CUDA) tensor into JavaScript: the very thing a display must not do. Here the indices are in
 * range by construction (non-finite values are replaced by lo before the arithmetic, which
 * leaves only finite numbers for clamp to bound), so the primitive is called directly.
 * Non-finite values parked at lo land in bin 0 and are taken off again by their count.
 * A scatterAdd over 10^8 elements still takes seconds on a CPU, so a long tensor is sampled at
 * an even stride first: the shape of a distribution needs no more than a million values, and
 * the note under the picture says it was sampled.
 */
