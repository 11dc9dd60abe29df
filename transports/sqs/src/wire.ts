import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { InvalidOptionError, RESERVED_ATTRIBUTE_PREFIX as RESERVED_PREFIX, type Codec } from '@nest-transports/shared';
import type { SqsAttributeInput } from './record.js';
/** SQS accepts at most 10 message attributes per message. */
const MAX_ATTRIBUTES = 10;

export type Attributes = Record<string, MessageAttributeValue>;

export const str = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

export function attributeValue(input: SqsAttributeInput): MessageAttributeValue {
  if (typeof input === 'string') return str(input);
  if (typeof input === 'number') return { DataType: 'Number', StringValue: String(input) };
  if (input instanceof Uint8Array) return { DataType: 'Binary', BinaryValue: input };
  return input;
}

/** What SQS accepts in an attribute name: letters, digits, "_", "-", ".", 1–256 of them. */
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
/** SQS's Number: up to 38 significant digits, from -10^128 to 10^126, written in plain or exponent notation. */
const SQS_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** UTF-16 code units an attribute's string (like a body) must not hold: outside #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD and pairs. */
const NOT_SQS_TEXT = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\uD800-\uDFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why SQS would reject this attribute (AWS's rules for message attributes), or undefined when it accepts it. */
export function attributeProblem(name: string, value: MessageAttributeValue): string | undefined {
  if (!ATTRIBUTE_NAME.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
    return 'has a name SQS does not accept (1–256 letters, digits, "_", "-" and ".", no leading, trailing or doubled ".")';
  }
  if (/^(aws|amazon)\./i.test(name)) return 'has a name starting with "AWS." or "Amazon.", which SQS reserves';
  const type = value?.DataType ?? '';
  const base = /^(String|Number|Binary)(\.[A-Za-z0-9_.-]+)?$/.exec(type)?.[1];
  if (!base) return `has DataType ${JSON.stringify(type)}; SQS takes "String", "Number" or "Binary" (optionally with a ".label")`;
  if (base === 'Binary') {
    return value.BinaryValue && value.BinaryValue.byteLength > 0 ? undefined : 'is empty; SQS rejects an empty Binary value';
  }
  const text = value.StringValue;
  if (typeof text !== 'string' || text.length === 0) return `is empty; SQS rejects an empty ${base} value`;
  if (base === 'Number') {
    const number = Number(text);
    const digits = text
      .replace(/[eE].*$/, '')
      .replace(/\D/g, '')
      .replace(/^0+/, '');
    if (!SQS_NUMBER.test(text) || !Number.isFinite(number)) return `is ${JSON.stringify(text)}, not a number SQS accepts (NaN and Infinity are not)`;
    if (digits.length > 38 || Math.abs(number) > 1e126 || (number !== 0 && Math.abs(number) < 1e-128)) {
      return `is ${text}, outside SQS's Number range (38 digits, from -10^128 to 10^126)`;
    }
    return undefined;
  }
  return NOT_SQS_TEXT.test(text)
    ? 'holds characters SQS does not accept in text (outside #x9, #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD, #x10000–#x10FFFF)'
    : undefined;
}

/** The user's attributes from an `SqsRecord`, checked against SQS's rules and ours before anything is sent. */
export function userAttributes(transport: string, input: Record<string, SqsAttributeInput> | undefined, reserved: number): Attributes {
  const out: Attributes = {};
  if (!input) return out;
  const names = Object.keys(input);
  for (const name of names) {
    if (name.startsWith(RESERVED_PREFIX)) {
      throw new InvalidOptionError(transport, `messageAttributes.${name}`, 'uses the reserved prefix "nest-"', 'Rename the attribute.');
    }
    const value = attributeValue(input[name]);
    const problem = attributeProblem(name, value);
    if (problem) throw new InvalidOptionError(transport, `messageAttributes.${name}`, problem, 'Fix or leave out this attribute.');
    out[name] = value;
  }
  if (names.length + reserved > MAX_ATTRIBUTES) {
    throw new InvalidOptionError(
      transport,
      'messageAttributes',
      `has ${names.length} attributes; with the transport's ${reserved} that is over SQS's limit of ${MAX_ATTRIBUTES}`,
      `Send at most ${MAX_ATTRIBUTES - reserved} attributes (or carry the rest in the data).`,
    );
  }
  return out;
}

/**
 * The `nest-pattern` attribute (for subscription filters and other consumers; the server routes by the
 * body): SQS rejects an empty value and some characters, so an empty pattern reads "(empty)" and
 * characters SQS refuses are written as \uXXXX.
 */
export function patternAttribute(pattern: string): MessageAttributeValue {
  return str(pattern.length === 0 ? '(empty)' : pattern.replace(NOT_SQS_SAFE, escapeUnit));
}

/** Attributes minus the transport's own. */
export function withoutReserved(attributes: Attributes | undefined): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (!name.startsWith(RESERVED_PREFIX)) out[name] = value;
  }
  return out;
}

export const readAttr = (attributes: Attributes | undefined, name: string): string | undefined => attributes?.[name]?.StringValue;

/** The text values of a message's attributes (String and Number types). */
export function stringAttributes(attributes: Attributes | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in attributes) {
    const text = attributes[name].StringValue;
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/**
 * Adds the W3C trace fields as message attributes, each only while SQS's limit of 10 attributes
 * and `maxBytes` leave room: the user's own attributes come first, and a message is never refused
 * for its trace context. Returns the names left out (tracestate and baggage before traceparent).
 */
export function addTraceAttributes(attributes: Attributes, body: string, trace: Record<string, string> | undefined, maxBytes: number): string[] {
  const skipped: string[] = [];
  if (!trace) return skipped;
  let size = messageSize(body, attributes);
  for (const [name, value] of Object.entries(trace)) {
    const added = Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value);
    const replaces = attributes[name] !== undefined;
    if (!value || (!replaces && Object.keys(attributes).length >= MAX_ATTRIBUTES) || (!replaces && size + added > maxBytes)) {
      skipped.push(name);
      continue;
    }
    attributes[name] = str(value);
    size = messageSize(body, attributes);
  }
  return skipped;
}

/** Size as SQS counts it: body plus each attribute's name, type and value. */
export function messageSize(body: string, attributes: Attributes): number {
  return Buffer.byteLength(body) + attributesSize(attributes);
}

/** The attributes' part of a message's size: each one's name, type and value. */
export function attributesSize(attributes: Attributes): number {
  let size = 0;
  for (const name in attributes) {
    const value = attributes[name];
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    if (value.StringValue !== undefined) size += Buffer.byteLength(value.StringValue);
    if (value.BinaryValue !== undefined) size += value.BinaryValue.byteLength;
  }
  return size;
}

/**
 * UTF-16 code units a body must not carry raw. SQS accepts #x9 | #xA | #xD | #x20–#xD7FF |
 * #xE000–#xFFFD | #x10000–#x10FFFF, and rejects the whole message otherwise (JSON.stringify leaves
 * U+FFFE/U+FFFF raw). Characters above U+FFFF are escaped too: emulators such as fauxqs reject them.
 */
const NOT_SQS_SAFE = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g;

const escapeUnit = (unit: string) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * SQS bodies are text: a binary codec's output is carried as base64. JSON is made SQS-safe by
 * escaping what SQS (or an emulator) would reject as `\uXXXX`: outside strings JSON text is
 * ASCII, so only string contents change, and they decode to the same value.
 */
export function encodeBody(codec: Codec, value: unknown): string {
  const encoded = codec.encode(value);
  if (typeof encoded !== 'string') return encoded.toString('base64');
  return codec.name === 'json' ? encoded.replace(NOT_SQS_SAFE, escapeUnit) : encoded;
}

/** A body as the codec reads it: text, or the bytes a binary codec's base64 carries. */
export const bodyForCodec = (codec: Codec, body: string): string | Buffer => (codec.binary ? Buffer.from(body, 'base64') : body);

export function decodeBody(codec: Codec, body: string): unknown {
  return codec.decode(bodyForCodec(codec, body));
}
