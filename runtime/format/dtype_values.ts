/**
 * The values PyTorch actually formats for each dtype.
 *
 * `_tensor_str` converts float16/bfloat16 tensors to float32 (exact) before formatting, and
 * float32 elements reach Python's `format` as the double holding the float32 value. So a
 * value handed to the printer is first rounded to its dtype here; that is a no-op for values
 * that came out of a tensor of that dtype, and makes an unrounded double print like torch
 * would print it after `torch.tensor(x, dtype=...)`.
 */

export type PrintDtype = 'float32' | 'float64' | 'int32' | 'bool' | 'float16' | 'bfloat16';

/**
 * Round to the nearest float16 value (ties to even), returned as a double. Like c10::Half,
 * a double goes through float32 first (so double rounding is reproduced, not avoided).
 */
function roundToFloat16(v: number): number {
  const x = Math.fround(v);
  if (!Number.isFinite(x) || x === 0) return x;
  const ax = Math.abs(x);
  // 65520 is the midpoint between max half (65504) and 2^16: it and above overflow to inf.
  if (ax >= 65520) return x > 0 ? Infinity : -Infinity;
  // Spacing of float16 values around ax: 2^(exp-10) for normals, 2^-24 for subnormals.
  // Math.log2 may be off by one near powers of two, so the estimate is corrected exactly.
  let exp = Math.floor(Math.log2(ax));
  if (2 ** exp > ax) exp -= 1;
  else if (2 ** (exp + 1) <= ax) exp += 1;
  exp = Math.max(exp, -14);
  const ulp = 2 ** (exp - 10);
  return Math.sign(x) * roundHalfEven(ax / ulp) * ulp; // ax/ulp is exact (power-of-two scaling)
}

/** Round a double to bfloat16 (via float32 as c10::BFloat16 does, then ties-to-even on the top 16 bits). */
function roundToBfloat16(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f === 0) return f;
  const buf = new Float32Array([f]);
  const bits = new Uint32Array(buf.buffer);
  const b = bits[0]!;
  const rounded = (b + 0x7fff + ((b >>> 16) & 1)) >>> 0;
  bits[0] = (rounded & 0xffff0000) >>> 0;
  return buf[0]!;
}

function roundHalfEven(v: number): number {
  const fl = Math.floor(v);
  const diff = v - fl;
  if (diff > 0.5) return fl + 1;
  if (diff < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

export function storedValue(dtype: PrintDtype, v: number): number {
  switch (dtype) {
    case 'float32':
      return Math.fround(v);
    case 'float16':
      return roundToFloat16(v);
    case 'bfloat16':
      return roundToBfloat16(v);
    default:
      return v;
  }
}

/** Value of a raw float16 / bfloat16 storage word. */
export function decodeHalfBits(dtype: 'float16' | 'bfloat16', bits: number): number {
  if (dtype === 'bfloat16') {
    bf16Word[0] = (bits & 0xffff) << 16;
    return bf16View[0]!;
  }
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

const bf16View = new Float32Array(1);
const bf16Word = new Uint32Array(bf16View.buffer);
