/**
 * Bundled and on-disk datasets: the 8x8 handwritten digits shipped in data/ (UCI "Optical
 * Recognition of Handwritten Digits", CC BY 4.0; see data/README.md) and MNIST's IDX files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Tensor } from '../tensor.js';
import { fromHost } from '../functional/creation.js';

export interface Labelled {
  x: Tensor;
  y: Tensor;
}

/** data/ at the package root, from the source tree (runtime/data) or the build (dist/runtime/data). */
function dataFile(name: string): string {
  const candidates = ['../../data/', '../../../data/'].map((rel) => fileURLToPath(new URL(rel + name, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`datasets: bundled file ${name} not found (looked in ${candidates.join(', ')})`);
  return found;
}

let digitsCache: { x: Float32Array; y: Int32Array } | null = null;

/** 1,797 8x8 digit images: x float32 [1797, 64] with pixel values 0-16, y int32 [1797] labels 0-9. */
export function digits(): Labelled {
  if (!digitsCache) {
    const path = dataFile('digits.csv.gz');
    const text = gunzipSync(readFileSync(path)).toString('utf8');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const x = new Float32Array(lines.length * 64);
    const y = new Int32Array(lines.length);
    lines.forEach((line, r) => {
      const cells = line.split(',');
      if (cells.length !== 65) throw new Error(`digits: ${path} line ${r + 1} has ${cells.length} fields, expected 65`);
      for (let c = 0; c < 64; c++) x[r * 64 + c] = Number(cells[c]);
      y[r] = Number(cells[64]);
    });
    digitsCache = { x, y };
  }
  const n = digitsCache.y.length;
  return { x: fromHost(digitsCache.x, [n, 64], 'float32', 'cpu'), y: fromHost(digitsCache.y, [n], 'int32', 'cpu') };
}

export interface Idx {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file of unsigned bytes (gzipped or not), checking magic, dims and length. */
export function readIdx(path: string, expectDims?: number): Idx {
  let buf: Buffer = readFileSync(path);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new Error(`readIdx: ${path} looks gzipped but does not decompress: ${(e as Error).message}`);
    }
  }
  if (buf.length < 4) throw new Error(`readIdx: ${path} is truncated: ${buf.length} bytes, too short for the 4-byte magic number`);
  const magic = buf.readUInt32BE(0);
  const ndim = buf[3];
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) {
    throw new Error(`readIdx: ${path} has magic number 0x${magic.toString(16).padStart(8, '0')}, not an IDX file of unsigned bytes (0x000008NN)`);
  }
  if (expectDims !== undefined && ndim !== expectDims) {
    throw new Error(`readIdx: ${path} has magic number ${magic} (${ndim} dims), expected ${0x800 + expectDims} (${expectDims} dims)`);
  }
  const header = 4 + 4 * ndim;
  if (buf.length < header) throw new Error(`readIdx: ${path} is truncated: ${buf.length} bytes, the header of ${ndim} dims needs ${header}`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const need = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - header;
  if (have < need) throw new Error(`readIdx: ${path} is truncated: dims [${dims.join(', ')}] need ${need} bytes of data, found ${have}`);
  if (have > need) throw new Error(`readIdx: ${path} has ${have - need} bytes past the data that dims [${dims.join(', ')}] describe`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + header, need) };
}

function findFile(dir: string, base: string): string {
  const names = [`${base}-idx`, `${base}.idx`];
  const tried: string[] = [];
  for (const stem of names) {
    for (const suffix of ['', '.gz']) {
      const kind = base.endsWith('images') ? '3' : '1';
      const p = join(dir, `${stem}${kind}-ubyte${suffix}`);
      tried.push(p);
      if (existsSync(p)) return p;
    }
  }
  throw new Error(`mnist: no ${base} file in ${dir} (tried ${tried.join(', ')})`);
}

/**
 * MNIST (or any dataset in its layout, such as Fashion-MNIST) from IDX files in `dir`:
 * x float32 [N, rows, cols] with pixel values 0-255, y int32 [N].
 */
export function mnist(dir: string, opts: { train?: boolean } = {}): Labelled {
  const prefix = opts.train === false ? 't10k' : 'train';
  const imagesPath = findFile(dir, `${prefix}-images`);
  const labelsPath = findFile(dir, `${prefix}-labels`);
  const images = readIdx(imagesPath, 3);
  const labels = readIdx(labelsPath, 1);
  const [n, rows, cols] = images.dims;
  if (labels.dims[0] !== n) {
    throw new Error(`mnist: ${imagesPath} holds ${n} images but ${labelsPath} holds ${labels.dims[0]} labels`);
  }
  const x = Float32Array.from(images.data);
  const y = Int32Array.from(labels.data);
  return { x: fromHost(x, [n, rows, cols], 'float32', 'cpu'), y: fromHost(y, [n], 'int32', 'cpu') };
}

/** A seeded random split of n indices: the first `fraction` for training, the rest for testing. */
export function splitIndices(n: number, fraction: number, generator: { random(): number }): { train: number[]; test: number[] } {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(generator.random() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  const k = Math.round(n * fraction);
  return { train: p.slice(0, k), test: p.slice(k) };
}
