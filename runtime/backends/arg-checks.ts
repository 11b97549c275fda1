/** Checks native backends make before any kernel touches memory, shared so messages agree. */
import type { Arg } from '../backend.js';

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
