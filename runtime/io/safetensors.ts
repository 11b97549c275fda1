/**
 * Checkpoints in the safetensors format: 8-byte little-endian header length, a JSON header
 * ({name: {dtype, shape, data_offsets}}, optional __metadata__ of strings), then the raw
 * little-endian bytes of each tensor. See Note [Nested checkpoints] for saving optimizer state.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { Tensor } from '../tensor.js';
import { fromHost } from '../functional/creation.js';
import { arrayFor, itemSize, type DType } from '../dtype.js';
import { parseDevice, type DeviceLike } from '../device.js';

const TO_FILE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL', float16: 'F16', bfloat16: 'BF16' };
const FROM_FILE: Record<string, DType> = { F32: 'float32', F64: 'float64', I32: 'int32', BOOL: 'bool', F16: 'float16', BF16: 'bfloat16' };
const FILE_ITEM: Record<string, number> = { F32: 4, F64: 8, I32: 4, BOOL: 1, F16: 2, BF16: 2, I64: 8 };
/** Largest header we accept (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;
const TREE_KEY = 'gradbook.tree';

// Note [Nested checkpoints]: a flat {name: Tensor} (a model's stateDict) is written as plain
// safetensors. Anything else ({model, optimizer, epoch}, an optimizer's stateDict) is flattened:
// each tensor is stored under its path joined with '/', and the structure, with every tensor
// replaced by {"$tensor": path}, goes into __metadata__ as JSON under 'gradbook.tree'. load()
// rebuilds the structure, so a run resumes exactly; other readers still see ordinary tensors.

export interface SaveOptions {
  /** Extra string metadata for __metadata__. */
  metadata?: Record<string, string>;
}

function isFlat(obj: object): boolean {
  const values = obj instanceof Map ? [...obj.values()] : Object.values(obj);
  return values.every((v) => v instanceof Tensor);
}

function flatten(value: unknown, path: string[], out: Map<string, Tensor>): unknown {
  if (value instanceof Tensor) {
    const key = path.join('/');
    if (out.has(key)) throw new Error(`save: two tensors map to the key '${key}'`);
    out.set(key, value);
    return { $tensor: key };
  }
  if (value instanceof Map) value = Object.fromEntries(value);
  if (Array.isArray(value)) return value.map((v, i) => flatten(v, [...path, String(i)], out));
  if (value !== null && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('/')) throw new Error(`save: key '${k}' contains '/', which nested checkpoints use as the path separator`);
      o[k] = flatten(v, [...path, k], out);
    }
    return o;
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw new TypeError(`save: cannot store ${typeof value} at '${path.join('/')}'`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
  return value;
}

function unflatten(value: unknown, tensors: Record<string, Tensor>): unknown {
  if (Array.isArray(value)) return value.map((v) => unflatten(v, tensors));
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$tensor === 'string') {
      const t = tensors[o.$tensor];
      if (!t) throw new Error(`load: the checkpoint's structure names tensor '${o.$tensor}', which the file does not hold`);
      return t;
    }
    if (typeof o.$number === 'string') return Number(o.$number);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = unflatten(v, tensors);
    return out;
  }
  return value;
}

function bytesOf(t: Tensor): Uint8Array {
  const d = t.detach().contiguous().data();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Writes a state dict (or a nested object of tensors and plain values) to `path`, atomically. */
export function save(obj: Record<string, unknown> | Map<string, unknown>, path: string, opts: SaveOptions = {}): void {
  if (endianness() !== 'LE') throw new Error('save: big-endian hosts are not supported (safetensors data is little-endian)');
  if (obj === null || typeof obj !== 'object') throw new TypeError(`save: expected a state dict object, got ${obj === null ? 'null' : typeof obj}`);
  const tensors = new Map<string, Tensor>();
  const metadata: Record<string, string> = { ...(opts.metadata ?? {}) };
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`save: metadata value of '${k}' must be a string, got ${typeof v}`);
  }
  if (isFlat(obj)) {
    for (const [k, v] of obj instanceof Map ? obj : Object.entries(obj)) tensors.set(k, v as Tensor);
  } else {
    metadata[TREE_KEY] = JSON.stringify(flatten(obj, [], tensors));
  }
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error("save: '__metadata__' is reserved and cannot name a tensor");
    const bytes = bytesOf(t);
    header[name] = { dtype: TO_FILE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // pad with spaces so the data starts 8-byte aligned, as the reference writer does
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    for (const c of chunks) writeSync(fd, c);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // never created or already renamed
    }
    throw e;
  }
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(path: string, buf: Buffer): { entries: Entry[]; metadata: Record<string, string> | null; dataStart: number } {
  if (buf.length < 8) throw new Error(`load: ${path} is truncated: ${buf.length} bytes, too short for the 8-byte header length`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER)) throw new Error(`load: ${path}: header length ${n} is larger than the ${MAX_HEADER}-byte limit; not a safetensors file?`);
  const hlen = Number(n);
  if (8 + hlen > buf.length) throw new Error(`load: ${path} is truncated: the header claims ${hlen} bytes but the file has ${buf.length - 8} after the length`);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  } catch (e) {
    throw new Error(`load: ${path}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`load: ${path}: the header must be a JSON object`);
  let metadata: Record<string, string> | null = null;
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Object.values(v).some((s) => typeof s !== 'string')) {
        throw new Error(`load: ${path}: __metadata__ must map strings to strings`);
      }
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw new Error(`load: ${path}: entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in FILE_ITEM)) {
      throw new Error(`load: ${path}: tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; gradbook reads ${Object.keys(FILE_ITEM).join(', ')}`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
      throw new Error(`load: ${path}: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
      throw new Error(`load: ${path}: tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const numel = shape.reduce((a: number, b: number) => a * b, 1);
    if (off[1] - off[0] !== numel * FILE_ITEM[e.dtype]) {
      throw new Error(
        `load: ${path}: tensor '${name}' (${e.dtype}, shape [${shape.join(', ')}]) needs ${numel * FILE_ITEM[e.dtype]} bytes but data_offsets [${off.join(', ')}] span ${off[1] - off[0]}`,
      );
    }
    entries.push({ name, dtype: e.dtype, shape, begin: off[0], end: off[1] });
  }
  const dataStart = 8 + hlen;
  const dataLen = buf.length - dataStart;
  // the tensors must tile the data region exactly, as the reference reader requires
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) throw new Error(`load: ${path}: tensor '${e.name}' overlaps another tensor's data (offset ${e.begin} < ${pos})`);
    if (e.begin > pos) throw new Error(`load: ${path}: ${e.begin - pos} bytes before tensor '${e.name}' belong to no tensor`);
    pos = e.end;
  }
  if (pos > dataLen) throw new Error(`load: ${path} is truncated: the tensors need ${pos} bytes of data, the file holds ${dataLen}`);
  if (pos < dataLen) throw new Error(`load: ${path}: ${dataLen - pos} bytes after the last tensor belong to no tensor`);
  return { entries, metadata, dataStart };
}

export interface LoadOptions {
  device?: DeviceLike;
}

/**
 * Reads a safetensors file: a flat {name: Tensor} in the file's order, or the nested object that
 * save() was given. I64 tensors (PyTorch's integers) load as int32 when their values fit.
 */
export function load<T = Record<string, Tensor>>(path: string, opts: LoadOptions = {}): T {
  if (endianness() !== 'LE') throw new Error('load: big-endian hosts are not supported (safetensors data is little-endian)');
  const device = parseDevice(opts.device ?? 'cpu', 'load');
  const buf = readFileSync(path);
  const { entries, metadata, dataStart } = parseHeader(path, buf);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    // copy: the region may not be aligned for a typed array view
    const bytes = new Uint8Array(buf.subarray(dataStart + e.begin, dataStart + e.end));
    let t: Tensor;
    if (e.dtype === 'I64') {
      const big = new BigInt64Array(bytes.buffer);
      const vals = new Int32Array(big.length);
      for (let i = 0; i < big.length; i++) {
        if (big[i] > 2147483647n || big[i] < -2147483648n) {
          throw new RangeError(`load: ${path}: tensor '${e.name}' (I64) holds ${big[i]}, outside int32; gradbook has no int64`);
        }
        vals[i] = Number(big[i]);
      }
      t = fromHost(vals, e.shape, 'int32', device);
    } else {
      const dtype = FROM_FILE[e.dtype];
      const arr = arrayFor(dtype, 0).constructor as new (b: ArrayBuffer) => ReturnType<typeof arrayFor>;
      if (bytes.byteLength % itemSize(dtype)) throw new Error(`load: ${path}: tensor '${e.name}' has a partial element`);
      t = fromHost(new arr(bytes.buffer), e.shape, dtype, device);
    }
    tensors[e.name] = t;
  }
  if (metadata && typeof metadata[TREE_KEY] === 'string') {
    let tree: unknown;
    try {
      tree = JSON.parse(metadata[TREE_KEY]);
    } catch (err) {
      throw new Error(`load: ${path}: metadata '${TREE_KEY}' is not valid JSON (${(err as Error).message})`);
    }
    return unflatten(tree, tensors) as T;
  }
  return tensors as T;
}

/** The __metadata__ of a safetensors file (null when it has none), without reading tensors. */
export function loadMetadata(path: string): Record<string, string> | null {
  return parseHeader(path, readFileSync(path)).metadata;
}
