/** Builds op-table inputs with a given memory layout on a given backend, from host values. */
import * as gb from '../../runtime/index.js';
import type { Tensor, DType } from '../../runtime/index.js';
import { Generator } from '../../runtime/random.js';
import type { Domain, InputSpec } from './op-table.js';

const EDGE_VALUES = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-30, -3.5, 100, 0.5, 2];

export function hostValues(spec: InputSpec, g: Generator): Float64Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const v = new Float64Array(n);
  const domain: Domain = spec.domain ?? 'any';
  for (let i = 0; i < n; i++) {
    const u = g.random();
    switch (domain) {
      case 'any':
        v[i] = u * 4 - 2;
        break;
      case 'positive':
        v[i] = 0.5 + u * 1.5;
        break;
      case 'unit':
        v[i] = u * 1.8 - 0.9;
        break;
      case 'nonzero':
        v[i] = (0.3 + u * 1.7) * (g.random() < 0.5 ? -1 : 1);
        break;
      case 'edge':
        v[i] = EDGE_VALUES[Math.floor(u * EDGE_VALUES.length)];
        break;
      case 'bool':
        v[i] = u < 0.5 ? 1 : 0;
        break;
      case 'int':
        v[i] = Math.floor(u * (spec.intHigh ?? 3));
        break;
    }
  }
  if (spec.layout === 'expanded') {
    // constant along dim 0, as an expanded view must be
    const inner = n / (spec.shape[0] || 1);
    for (let i = inner; i < n; i++) v[i] = v[i % inner];
  }
  return v;
}

export function inputDtype(spec: InputSpec, floatDtype: DType): DType {
  return spec.domain === 'int' ? 'int32' : spec.domain === 'bool' ? 'bool' : floatDtype;
}

/** A tensor holding `vals` (row-major for spec.shape) laid out as spec.layout asks. */
export function buildInput(spec: InputSpec, vals: Float64Array, dtype: DType, device = 'cpu'): Tensor {
  return gb.noGrad(() => {
    const shape = spec.shape;
    const c = gb.fromTypedArray(vals, shape, { dtype, device });
    switch (spec.layout ?? 'contiguous') {
      case 'contiguous':
        return c;
      case 'transposed':
        return c.transpose(-1, -2).contiguous().transpose(-1, -2);
      case 'strided': {
        const wide = gb.zeros([...shape.slice(0, -1), shape[shape.length - 1] * 2], { dtype, device });
        const view = wide.slice(-1, 0, undefined, 2);
        view.copy_(c);
        return view;
      }
      case 'expanded':
        return c.narrow(0, 0, Math.min(1, shape[0])).contiguous().expand(...shape);
      case 'offset': {
        const big = gb.zeros([shape[0] + 1, ...shape.slice(1)], { dtype, device });
        const view = big.narrow(0, 1, shape[0]);
        view.copy_(c);
        return view;
      }
    }
  });
}
