// Reads 8-bit PNGs (grey, grey+alpha, RGB, RGBA; no interlace), as browsers' screenshots and our
// own encoder write them, into RGBA pixels: for tests that look at what was drawn.
import { inflateSync } from 'node:zlib';

export interface Pixels {
  width: number;
  height: number;
  /** RGBA, row-major */
  rgba: Uint8Array;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export function decodePng(png: Uint8Array): Pixels {
  const buf = Buffer.from(png);
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('decodePng: not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error(`decodePng: bit depth ${data[8]}, interlace ${data[12]} not read`);
      channels = CHANNELS[data[9]!] ?? 0;
      if (!channels) throw new Error(`decodePng: colour type ${data[9]} not read`);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[row + i - channels]! : 0;
      const b = y > 0 ? out[row - stride + i]! : 0;
      const c = y > 0 && i >= channels ? out[row - stride + i - channels]! : 0;
      let p: number;
      switch (filter) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`decodePng: unknown filter ${filter} in row ${y}`);
      }
      out[row + i] = (src[i]! + p) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = out.subarray(i * channels, (i + 1) * channels);
    const grey = channels <= 2;
    rgba[i * 4] = s[0]!;
    rgba[i * 4 + 1] = grey ? s[0]! : s[1]!;
    rgba[i * 4 + 2] = grey ? s[0]! : s[2]!;
    rgba[i * 4 + 3] = channels === 2 ? s[1]! : channels === 4 ? s[3]! : 255;
  }
  return { width, height, rgba };
}

/** How much of a picture is not its most common colour, and how many colours it has. */
export function inkOf(p: Pixels): { ink: number; colours: number } {
  const counts = new Map<number, number>();
  for (let i = 0; i < p.width * p.height; i++) {
    const key = (p.rgba[i * 4]! << 16) | (p.rgba[i * 4 + 1]! << 8) | p.rgba[i * 4 + 2]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  return { ink: 1 - background / (p.width * p.height), colours: counts.size };
}
