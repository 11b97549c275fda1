import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decode, DELIMITER, encode, makeHeader, Signer, type Message } from '../kernel/wire.js';

const signer = new Signer('hmac-sha256', 'secret-key');

function message(content: Record<string, unknown> = { code: '1 + 1' }): Message<unknown> {
  return {
    identities: [Buffer.from('client-1')],
    header: makeHeader('execute_request', 'session-1'),
    parent_header: {},
    metadata: {},
    content,
    buffers: [Buffer.from([1, 2, 3])],
  };
}

describe('wire format', () => {
  it('round-trips a signed message with identities and buffers', () => {
    const frames = encode(message(), signer);
    const r = decode(frames, signer);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.message.identities.map((b) => b.toString())).toEqual(['client-1']);
    expect(r.message.header.msg_type).toBe('execute_request');
    expect(r.message.content).toEqual({ code: '1 + 1' });
    expect([...r.message.buffers[0]!]).toEqual([1, 2, 3]);
  });

  it('signs the four JSON parts with HMAC-SHA256 as jupyter_client does', () => {
    const frames = encode(message(), signer);
    const at = frames.findIndex((f) => f.toString() === DELIMITER);
    const parts = frames.slice(at + 2, at + 6);
    const h = createHmac('sha256', 'secret-key');
    for (const p of parts) h.update(p);
    expect(frames[at + 1]!.toString()).toBe(h.digest('hex'));
  });

  it('rejects a message with an invalid HMAC signature', () => {
    const frames = encode(message(), signer);
    const at = frames.findIndex((f) => f.toString() === DELIMITER);
    const sig = frames[at + 1]!.toString();
    frames[at + 1] = Buffer.from((sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    const r = decode(frames, signer);
    expect(r).toMatchObject({ ok: false, reason: 'invalid signature' });
  });

  it('rejects a message signed with another key', () => {
    const frames = encode(message(), new Signer('hmac-sha256', 'other-key'));
    expect(decode(frames, signer)).toMatchObject({ ok: false, reason: 'invalid signature' });
  });

  it('rejects a message whose content was changed after signing', () => {
    const frames = encode(message(), signer);
    const at = frames.findIndex((f) => f.toString() === DELIMITER);
    frames[at + 5] = Buffer.from(JSON.stringify({ code: 'process.exit()' }));
    expect(decode(frames, signer)).toMatchObject({ ok: false, reason: 'invalid signature' });
  });

  it('rejects a message with a missing signature when a key is set', () => {
    const frames = encode(message(), new Signer('hmac-sha256', ''));
    expect(decode(frames, signer)).toMatchObject({ ok: false, reason: 'missing signature' });
  });

  it('accepts unsigned messages when the connection file has an empty key', () => {
    const open = new Signer('hmac-sha256', '');
    expect(decode(encode(message(), open), open).ok).toBe(true);
  });

  it('rejects frames without the <IDS|MSG> delimiter', () => {
    expect(decode([Buffer.from('a'), Buffer.from('b')], signer)).toMatchObject({ ok: false });
  });

  it('rejects a truncated message', () => {
    const frames = encode(message(), signer).slice(0, 4);
    expect(decode(frames, signer)).toMatchObject({
      ok: false,
      reason: 'fewer than 5 frames after the delimiter',
    });
  });

  it('rejects correctly signed parts that are not JSON objects', () => {
    const parts = ['{"msg_id":"1","msg_type":"x","session":"s"}', '{}', '{}', '[1]'].map((p) =>
      Buffer.from(p),
    );
    const frames = [Buffer.from(DELIMITER), Buffer.from(signer.sign(parts)), ...parts];
    expect(decode(frames, signer)).toMatchObject({ ok: false });
    const bad = [Buffer.from('{'), ...parts.slice(1)];
    expect(decode([Buffer.from(DELIMITER), Buffer.from(signer.sign(bad)), ...bad], signer)).toMatchObject({
      ok: false,
    });
  });

  it('rejects a header without msg_type', () => {
    const parts = ['{"msg_id":"1","session":"s"}', '{}', '{}', '{}'].map((p) => Buffer.from(p));
    const frames = [Buffer.from(DELIMITER), Buffer.from(signer.sign(parts)), ...parts];
    expect(decode(frames, signer)).toMatchObject({
      ok: false,
      reason: 'header lacks msg_id, msg_type or session',
    });
  });

  it('drops an oversized message unread', () => {
    const frames = encode(message({ code: 'x'.repeat(1000) }), signer);
    expect(decode(frames, signer, { maxBytes: 500 })).toMatchObject({ ok: false });
  });

  it('never throws on random frames', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i++) {
      const frames = Array.from({ length: Math.floor(rand() * 9) }, () =>
        Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256))),
      );
      if (rand() < 0.5) frames.splice(Math.floor(rand() * frames.length), 0, Buffer.from(DELIMITER));
      expect(decode(frames, signer).ok).toBe(false);
    }
  });

  it('refuses an unknown signature scheme at start', () => {
    expect(() => new Signer('md5-foo', 'k')).toThrow(/unsupported signature scheme/);
  });
});
