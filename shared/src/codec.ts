import { Packr } from 'msgpackr';
import { InvalidOptionError, MalformedPacketError } from './errors.js';

/**
 * The byte layer under Nest's serializer/deserializer: turns a (serialized) packet into
 * what goes on the wire and back. `binary` tells a transport which frame type it writes.
 */
export interface Codec {
  readonly name: string;
  readonly binary: boolean;
  encode(value: unknown): string | Buffer;
  /** Throws `MalformedPacketError` for input that is not a valid encoding. */
  decode(data: string | Buffer): unknown;
}

export class JsonCodec implements Codec {
  readonly name = 'json';
  readonly binary = false;

  encode(value: unknown): string {
    return JSON.stringify(value);
  }

  decode(data: string | Buffer): unknown {
    const text = typeof data === 'string' ? data : data.toString('utf8');
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new MalformedPacketError('not valid JSON', err);
    }
  }
}

export class MsgpackCodec implements Codec {
  readonly name = 'msgpack';
  readonly binary = true;
  // Plain maps as objects, no record extension: any MessagePack peer can read the frames.
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

  encode(value: unknown): Buffer {
    return this.packr.pack(value);
  }

  decode(data: string | Buffer): unknown {
    if (typeof data === 'string') {
      throw new MalformedPacketError('a text frame where MessagePack (binary) was expected');
    }
    try {
      return this.packr.unpack(data);
    } catch (err) {
      throw new MalformedPacketError('not valid MessagePack', err);
    }
  }
}

export type CodecOption = 'json' | 'msgpack' | Codec;

export function resolveCodec(transport: string, option: CodecOption | undefined): Codec {
  if (option === undefined || option === 'json') return new JsonCodec();
  if (option === 'msgpack') return new MsgpackCodec();
  if (typeof option === 'object' && typeof option.encode === 'function' && typeof option.decode === 'function') {
    return option;
  }
  throw new InvalidOptionError(
    transport,
    'codec',
    `is ${JSON.stringify(option)}`,
    'Use "json" (default), "msgpack", or an object with encode(), decode(), name and binary.',
  );
}
