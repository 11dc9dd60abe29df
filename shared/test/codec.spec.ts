import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { InvalidOptionError, JsonCodec, MalformedPacketError, MsgpackCodec, resolveCodec } from '../src/index.js';

const packet = { id: 'a1', pattern: { cmd: 'sum' }, data: [1, 2, 'ü', null, { deep: [true] }], metadata: { trace: 't' } };

describe('JsonCodec', () => {
  const codec = new JsonCodec();
  it('speaks Nest packets as JSON text', () => {
    const text = codec.encode(packet);
    expect(typeof text).toBe('string');
    expect(JSON.parse(text)).toEqual(packet);
    expect(codec.decode(text)).toEqual(packet);
    expect(codec.decode(Buffer.from(text))).toEqual(packet);
  });
  it('rejects malformed input with MalformedPacketError', () => {
    expect(() => codec.decode('{"id":')).toThrow(MalformedPacketError);
  });
});

describe('MsgpackCodec', () => {
  const codec = new MsgpackCodec();
  it('round-trips packets as binary', () => {
    const bytes = codec.encode(packet);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(codec.decode(bytes)).toEqual(packet);
  });
  it('is smaller than JSON for numeric payloads', () => {
    const data = { id: 'x', pattern: 'p', data: Array.from({ length: 100 }, (_, i) => i * 1000) };
    expect(codec.encode(data).byteLength).toBeLessThan(Buffer.byteLength(new JsonCodec().encode(data)));
  });
  it('refuses a text frame', () => {
    expect(() => codec.decode('{}')).toThrow(/text frame/);
  });
  it('round-trips any JSON value', () => {
    // msgpackr renames "__proto__" keys (its prototype-pollution guard): not compared here.
    const withoutProto = (_key: string, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== '__proto__')) : v;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const normalised = JSON.parse(JSON.stringify(value), withoutProto);
        expect(codec.decode(codec.encode(normalised))).toEqual(normalised);
      }),
      { numRuns: 200 },
    );
  });
  it('never throws anything but MalformedPacketError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          codec.decode(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedPacketError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('resolveCodec', () => {
  it('defaults to JSON and accepts a custom codec', () => {
    expect(resolveCodec('T', undefined).name).toBe('json');
    expect(resolveCodec('T', 'msgpack').binary).toBe(true);
    const custom = { name: 'c', binary: false, encode: String, decode: (d: string | Buffer) => d };
    expect(resolveCodec('T', custom)).toBe(custom);
  });
  it('names the option and the fix for a bad value', () => {
    expect(() => resolveCodec('WsServer', 'yaml' as never)).toThrow(InvalidOptionError);
    expect(() => resolveCodec('WsServer', 'yaml' as never)).toThrow(/WsServer: option "codec" is "yaml". Use "json"/);
  });
});
