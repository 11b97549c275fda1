/**
 * One registry of global settings, shared by the runtime, the REPL, notebooks and magics.
 * Magics change them through `withFlags`, which restores the previous values afterwards.
 */
import type { DType } from './dtype.js';

export interface Flags {
  /** dtype of tensors made from JavaScript numbers. */
  defaultDtype: 'float32' | 'float64';
  /** Which backend serves the 'cpu' device: the native addon or the TypeScript reference. */
  cpuBackend: 'native' | 'reference';
  /** Check every backward result for NaN (anomaly mode). */
  detectAnomaly: boolean;
  /** Allow TF32 tensor cores for float32 matmul on CUDA, as torch.backends.cuda.matmul.allow_tf32. */
  allowTF32: boolean;
  printPrecision: number;
  printThreshold: number;
  printEdgeitems: number;
  printLinewidth: number;
  printSciMode: boolean | null;
}

export const flags: Flags = {
  defaultDtype: 'float32',
  cpuBackend: 'native',
  detectAnomaly: false,
  allowTF32: false,
  printPrecision: 4,
  printThreshold: 1000,
  printEdgeitems: 3,
  printLinewidth: 80,
  printSciMode: null,
};

/** Runs fn with some flags changed, restoring them when it returns, throws or settles. */
export function withFlags<T>(changes: Partial<Flags>, fn: () => T): T {
  const saved: Partial<Flags> = {};
  for (const k of Object.keys(changes) as (keyof Flags)[]) (saved as Record<string, unknown>)[k] = flags[k];
  Object.assign(flags, changes);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    Object.assign(flags, saved);
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => Object.assign(flags, saved)) as T;
  }
  Object.assign(flags, saved);
  return result;
}

export function setDefaultDtype(dtype: DType): void {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new TypeError(`setDefaultDtype: only floating point types are supported as the default type, got ${dtype}`);
  }
  flags.defaultDtype = dtype;
}

export function getDefaultDtype(): 'float32' | 'float64' {
  return flags.defaultDtype;
}

export interface PrintOptionsInput {
  precision?: number;
  threshold?: number;
  edgeitems?: number;
  linewidth?: number;
  sciMode?: boolean | null;
}

export function setPrintOptions(o: PrintOptionsInput): void {
  if (o.precision !== undefined) flags.printPrecision = o.precision;
  if (o.threshold !== undefined) flags.printThreshold = o.threshold;
  if (o.edgeitems !== undefined) flags.printEdgeitems = o.edgeitems;
  if (o.linewidth !== undefined) flags.printLinewidth = o.linewidth;
  if (o.sciMode !== undefined) flags.printSciMode = o.sciMode;
}
