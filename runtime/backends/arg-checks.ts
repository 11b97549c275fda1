/** Checks native backends make before any kernel touches memory, shared so messages agree. */
import type { Arg, Backend } from '../backend.js';
import type { DType } from '../dtype.js';

export function checkSameShape(who: string, op: string, out: Arg, a: Arg): void {
  const s = out.shape;
  const t = a.shape;
  let ok = s.length === t.length;
  for (let d = 0; ok && d < s.length; d++) ok = s[d] === t[d];
  if (!ok) throw new RangeError(`${who}: ${op}: shape [${t.join(', ')}] does not match the output's [${s.join(', ')}]`);
}

export function checkDim(who: string, op: string, dim: number, nd: number): void {
  if ((dim | 0) !== dim || dim < 0 || dim >= Math.max(nd, 1)) throw new RangeError(`${who}: ${op}: bad dim ${dim} for ${nd} dims`);
}

/**
 * Runs `run` with each input converted to the dtype wanted for it (contiguous temporaries from
 * `convert`, freed afterwards), for the rare calls whose dtypes the kernels do not pair. Returns
 * false, doing nothing, when every input already has its dtype.
 */
export function withDtypes(
  backend: Backend,
  inputs: readonly Arg[],
  dtypes: readonly DType[],
  convert: (a: Arg, dtype: DType) => Arg,
  run: (xs: Arg[]) => void,
): boolean {
  if (inputs.every((a, i) => a.dtype === dtypes[i])) return false;
  const xs = inputs.map((a, i) => (a.dtype === dtypes[i] ? a : convert(a, dtypes[i])));
  try {
    run(xs);
  } finally {
    xs.forEach((x, i) => {
      if (x !== inputs[i]) backend.free(x.buf);
    });
  }
  return true;
}

/** A batched matmul's views: a [B, M, K], b [B, K, N], out [B, M, N]. */
export function checkMatmulShapes(who: string, out: Arg, a: Arg, b: Arg): void {
  if (a.shape.length !== 3 || b.shape.length !== 3 || out.shape.length !== 3) {
    throw new RangeError(`${who}: matmul: expects 3-D [B, M, K] x [B, K, N] views`);
  }
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  if (b.shape[0] !== B || b.shape[1] !== K || out.shape[0] !== B || out.shape[1] !== M || out.shape[2] !== N) {
    throw new RangeError(
      `matmul: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] cannot be multiplied into [${out.shape.join(', ')}]`,
    );
  }
}
