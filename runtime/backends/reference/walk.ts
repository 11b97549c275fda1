/** Visits every index of `shape` in row-major order, passing each view's element offset. */
export interface Strided {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export function walk(shape: readonly number[], views: readonly Strided[], visit: (offsets: number[]) => void): void {
  const nd = shape.length;
  const nv = views.length;
  for (const s of shape) if (s === 0) return;
  const pos = views.map((v) => v.offset);
  if (nd === 0) {
    visit(pos);
    return;
  }
  const idx = new Array<number>(nd).fill(0);
  for (;;) {
    visit(pos);
    let d = nd - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      for (let v = 0; v < nv; v++) pos[v] += views[v].strides[d];
      if (idx[d] < shape[d]) break;
      for (let v = 0; v < nv; v++) pos[v] -= views[v].strides[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}
