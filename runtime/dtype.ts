/** Element types, their storage arrays and PyTorch's type promotion. */

export type DType = 'float32' | 'float64' | 'int32' | 'bool' | 'float16' | 'bfloat16';
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool', 'float16', 'bfloat16'];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;

/** Half types are stored as raw 16-bit words; only device backends compute on them. */
export function arrayFor(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n);
  }
}

export function itemSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
      return 2;
    case 'bool':
      return 1;
  }
}

export function isFloating(dtype: DType): boolean {
  return dtype !== 'int32' && dtype !== 'bool';
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function checkDType(x: unknown, where: string): DType {
  if (!isDType(x)) {
    throw new TypeError(`${where}: unknown dtype ${JSON.stringify(x)}; expected one of ${DTYPES.join(', ')}`);
  }
  return x;
}

/** dtype as PyTorch prints it. */
export function torchName(dtype: DType): string {
  return `torch.${dtype}`;
}

const category = (d: DType) => (d === 'bool' ? 0 : d === 'int32' ? 1 : 2);
const floatRank: Record<string, number> = { float16: 0, bfloat16: 0, float32: 1, float64: 2 };

/** PyTorch's promote_types for two tensors of equal standing. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const ca = category(a);
  const cb = category(b);
  if (ca !== cb) return ca > cb ? a : b;
  // both floating: float16 with bfloat16 gives float32, as in PyTorch
  if (floatRank[a] === floatRank[b]) return 'float32';
  return floatRank[a] > floatRank[b] ? a : b;
}

/**
 * The dtype of a JavaScript scalar taking part in an op with a tensor: like Python's wrapped
 * numbers, it only lifts the result's category (bool < integer < floating), never its width.
 */
export function scalarCategory(v: number | boolean): DType {
  if (typeof v === 'boolean') return 'bool';
  return Number.isInteger(v) ? 'int32' : 'float32';
}

export function promoteWithScalar(t: DType, s: number | boolean, defaultFloat: DType): DType {
  const cs = category(scalarCategory(s));
  if (cs <= category(t)) return t;
  return cs === 1 ? 'int32' : defaultFloat;
}
