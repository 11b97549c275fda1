/**
 * Python's float formatting, `'{:.Nf}'.format(x)` and `'{:.Ne}'.format(x)`, reproduced exactly.
 *
 * PyTorch prints every floating element through these on a Python float (an IEEE double
 * holding the exact stored value). JavaScript's toFixed/toExponential are not substitutes:
 * they round exact ties away from zero (`(2.5).toFixed(0) === "3"`, Python gives "2";
 * `(0.125).toFixed(2) === "0.13"`, Python gives "0.12"), toFixed switches to exponent
 * notation from 1e21 and both cap precision at 100. CPython (`_Py_dg_dtoa`) rounds the exact
 * binary value half-to-even, so we expand the double exactly with BigInt and do the same.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high word of the double in u32 (platform endianness).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * Exact binary decomposition of a finite, nonzero |x|: |x| = mant * 2^exp2.
 */
function decompose(x: number): { mant: bigint; exp2: number } {
  f64[0] = x;
  const hi = u32[HI]!;
  const lo = u32[1 - HI]!;
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mant: frac, exp2: -1074 }; // subnormal
  return { mant: frac | (1n << 52n), exp2: biased - 1075 };
}

function signBit(x: number): boolean {
  return x < 0 || Object.is(x, -0);
}

/** q/d rounded to nearest integer, ties to even (q, d > 0). */
function divRoundHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r2 = (n - q * d) * 2n;
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function nonFiniteStr(x: number): string | null {
  // CPython prints NaN as 'nan' whatever its sign bit ('-nan' never appears).
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return null;
}

/** Python's `'{:.{precision}f}'.format(x)` for a float. */
export function pyFormatFixed(x: number, precision: number): string {
  const nf = nonFiniteStr(x);
  if (nf !== null) return nf;
  const sign = signBit(x) ? '-' : '';
  let scaled: bigint; // round(|x| * 10^precision)
  if (x === 0) {
    scaled = 0n;
  } else {
    const { mant, exp2 } = decompose(x);
    const p10 = 10n ** BigInt(precision);
    scaled = exp2 >= 0 ? (mant << BigInt(exp2)) * p10 : divRoundHalfEven(mant * p10, 1n << BigInt(-exp2));
  }
  let digits = scaled.toString();
  if (precision === 0) return sign + digits;
  if (digits.length <= precision) digits = '0'.repeat(precision - digits.length + 1) + digits;
  return sign + digits.slice(0, digits.length - precision) + '.' + digits.slice(digits.length - precision);
}

/** Python's `'{:.{precision}e}'.format(x)` for a float (exponent has at least two digits). */
export function pyFormatExp(x: number, precision: number): string {
  const nf = nonFiniteStr(x);
  if (nf !== null) return nf;
  const sign = signBit(x) ? '-' : '';
  let mantissaDigits: string;
  let exp10: number;
  if (x === 0) {
    mantissaDigits = '0'.repeat(precision + 1);
    exp10 = 0;
  } else {
    // Exact decimal expansion: |x| = D * 10^e (for exp2 < 0, mant*2^exp2 = mant*5^-exp2 * 10^exp2).
    const { mant, exp2 } = decompose(x);
    let D: bigint;
    let e: number;
    if (exp2 >= 0) {
      D = mant << BigInt(exp2);
      e = 0;
    } else {
      D = mant * 5n ** BigInt(-exp2);
      e = exp2;
    }
    const len = D.toString().length;
    exp10 = len - 1 + e;
    const drop = len - (precision + 1);
    let q = drop > 0 ? divRoundHalfEven(D, 10n ** BigInt(drop)) : D * 10n ** BigInt(-drop);
    mantissaDigits = q.toString();
    if (mantissaDigits.length > precision + 1) {
      // Rounding carried into a new digit (e.g. 9.99995 -> 10.0000): q is exactly 10^(p+1).
      q /= 10n;
      mantissaDigits = q.toString();
      exp10 += 1;
    }
  }
  const mantissa = precision > 0 ? mantissaDigits[0] + '.' + mantissaDigits.slice(1) : mantissaDigits;
  const absExp = Math.abs(exp10);
  return `${sign}${mantissa}e${exp10 < 0 ? '-' : '+'}${absExp < 10 ? '0' : ''}${absExp}`;
}
