// Jupyter messaging 5.3 wire format: framing and HMAC signing.
// Pure functions over Buffers, so they are tested without sockets and used by the I/O worker.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const DELIMITER = '<IDS|MSG>';
export const PROTOCOL_VERSION = '5.3';

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface Message<C = Record<string, unknown>> {
  identities: Buffer[];
  header: Header;
  /** Empty object when the message answers nothing. */
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/**
 * Signs and verifies with the connection file's key. An empty key means "no signing"
 * (the spec's way of turning authentication off), so every signature is the empty string.
 */
export class Signer {
  readonly #algorithm: string;
  readonly #key: Buffer;

  constructor(scheme: string, key: string) {
    const match = /^hmac-(sha\d+)$/.exec(scheme || 'hmac-sha256');
    if (!match) throw new Error(`unsupported signature scheme: ${scheme}`);
    this.#algorithm = match[1]!;
    this.#key = Buffer.from(key, 'utf8');
    // Fail at start rather than on the first message if Node lacks the digest.
    this.sign([]);
  }

  get enabled(): boolean {
    return this.#key.length > 0;
  }

  sign(parts: readonly Buffer[]): string {
    if (!this.enabled) return '';
    const hmac = createHmac(this.#algorithm, this.#key);
    for (const part of parts) hmac.update(part);
    return hmac.digest('hex');
  }

  verify(signature: Buffer, parts: readonly Buffer[]): boolean {
    if (!this.enabled) return true;
    const expected = Buffer.from(this.sign(parts), 'ascii');
    // timingSafeEqual throws on unequal lengths; a length mismatch leaks nothing useful
    // (the expected length is public: it is fixed by the digest).
    if (signature.length !== expected.length) return false;
    return timingSafeEqual(signature, expected);
  }
}

export type DecodeResult =
  { ok: true; message: Message } | { ok: false; reason: string; identities: Buffer[] };

export interface DecodeLimits {
  /** Total bytes over all frames; anything larger is dropped unread. */
  maxBytes: number;
}

const DEFAULT_LIMITS: DecodeLimits = { maxBytes: 256 * 1024 * 1024 };

/** Frames as they come off a ROUTER socket: identities, delimiter, signature, four JSON parts, buffers. */
export function decode(
  frames: readonly Buffer[],
  signer: Signer,
  limits: DecodeLimits = DEFAULT_LIMITS,
): DecodeResult {
  let total = 0;
  for (const f of frames) total += f.length;
  const delimiterAt = frames.findIndex(
    (f) => f.length === DELIMITER.length && f.toString('latin1') === DELIMITER,
  );
  const identities = delimiterAt > 0 ? frames.slice(0, delimiterAt) : [];
  const fail = (reason: string): DecodeResult => ({ ok: false, reason, identities });
  if (total > limits.maxBytes) return fail(`message of ${total} bytes exceeds ${limits.maxBytes}`);
  if (delimiterAt < 0) return fail('no <IDS|MSG> delimiter');
  if (frames.length < delimiterAt + 6) return fail('fewer than 5 frames after the delimiter');
  const signature = frames[delimiterAt + 1]!;
  const parts = frames.slice(delimiterAt + 2, delimiterAt + 6);
  if (signer.enabled && signature.length === 0) return fail('missing signature');
  if (!signer.verify(signature, parts)) return fail('invalid signature');
  let header: unknown, parent: unknown, metadata: unknown, content: unknown;
  try {
    [header, parent, metadata, content] = parts.map((p) => JSON.parse(p.toString('utf8')) as unknown);
  } catch (err) {
    return fail(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isHeader(header)) return fail('header lacks msg_id, msg_type or session');
  if (!isObject(parent) || !isObject(metadata) || !isObject(content)) {
    return fail('parent_header, metadata and content must be objects');
  }
  return {
    ok: true,
    message: {
      identities,
      header,
      parent_header: parent as Message['parent_header'],
      metadata,
      content,
      buffers: frames.slice(delimiterAt + 6),
    },
  };
}

export function encode(message: Message<unknown>, signer: Signer): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((p) =>
    Buffer.from(JSON.stringify(p), 'utf8'),
  );
  return [
    ...message.identities,
    Buffer.from(DELIMITER, 'latin1'),
    Buffer.from(signer.sign(parts), 'ascii'),
    ...parts,
    ...message.buffers,
  ];
}

export function makeHeader(msgType: string, session: string, username = 'gradbook'): Header {
  return {
    msg_id: randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isHeader(v: unknown): v is Header {
  return (
    isObject(v) &&
    typeof v.msg_id === 'string' &&
    typeof v.msg_type === 'string' &&
    typeof v.session === 'string'
  );
}
