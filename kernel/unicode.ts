// Jupyter counts cursor positions in Unicode code points (protocol 5.2+); JavaScript strings and
// the TypeScript language service count UTF-16 code units.

export function codePointsToUtf16(text: string, codePoints: number): number {
  let units = 0;
  for (let cp = 0; cp < codePoints && units < text.length; cp++) {
    units += text.codePointAt(units)! > 0xffff ? 2 : 1;
  }
  return units;
}

export function utf16ToCodePoints(text: string, units: number): number {
  let cp = 0;
  for (let i = 0; i < units && i < text.length; cp++) i += text.codePointAt(i)! > 0xffff ? 2 : 1;
  return cp;
}
