// Colour scales for pictures of values, and the colours that mark values that are not numbers.

/** matplotlib's viridis at 11 evenly spaced stops; between stops colours are interpolated. */
const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140],
  [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37],
];

/** NaN, +inf and -inf are never coloured as numbers: they get colours outside the scale. */
export const NAN_RGB: readonly [number, number, number] = [255, 0, 255];
export const POSINF_RGB: readonly [number, number, number] = [255, 255, 255];
export const NEGINF_RGB: readonly [number, number, number] = [0, 0, 0];
export const NAN_CSS = 'rgb(255,0,255)';

/** A 256-entry RGB lookup table of viridis. */
export const VIRIDIS_LUT: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (VIRIDIS.length - 1);
    const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
    const f = x - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(VIRIDIS[k]![c]! * (1 - f) + VIRIDIS[k + 1]![c]! * f);
  }
  return lut;
})();

/** The viridis colour of `v` on the scale [lo, hi] (a constant tensor maps to the middle). */
export function viridis(v: number, lo: number, hi: number): [number, number, number] {
  if (Number.isNaN(v)) return [...NAN_RGB];
  if (v === Infinity) return [...POSINF_RGB];
  if (v === -Infinity) return [...NEGINF_RGB];
  const t = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5;
  const i = Math.round(t * 255) * 3;
  return [VIRIDIS_LUT[i]!, VIRIDIS_LUT[i + 1]!, VIRIDIS_LUT[i + 2]!];
}

export function rgbCss([r, g, b]: readonly number[]): string {
  return `rgb(${r},${g},${b})`;
}

/** viridis as a plotly colorscale. */
export const VIRIDIS_PLOTLY: [number, string][] = VIRIDIS.map((c, i) => [i / (VIRIDIS.length - 1), rgbCss(c)]);
