import { createHash } from 'node:crypto';
import { InvalidOptionError } from '@nest-transports/shared';

/**
 * AWS's rule for `MessageGroupId` and `MessageDeduplicationId`: 1–128 characters, each an ASCII letter,
 * digit or punctuation mark (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~) — no spaces, no other characters.
 */
export const FIFO_ID = /^[\x21-\x7e]{1,128}$/;

const FIFO_ID_RULE = 'SQS takes 1–128 ASCII letters, digits and punctuation marks (no spaces, no accented or other characters)';

/** Throws `InvalidOptionError` naming `option` unless `value` is a valid FIFO id; returns it. */
export function checkFifoId(transport: string, option: string, value: unknown, context = ''): string {
  if (typeof value === 'string' && FIFO_ID.test(value)) return value;
  throw new InvalidOptionError(transport, option, `is ${JSON.stringify(value)}${context}`, `${FIFO_ID_RULE}.`);
}

/**
 * The default message group of a pattern: the pattern itself when it is a valid group id, else a
 * stable id derived from it — its readable part (accents dropped, other characters as "_") then "~"
 * and 22 characters of its SHA-256. Two patterns never share a group unless they hash alike (2^-132),
 * and a pattern keeps its group across processes and releases.
 */
export function groupIdOf(pattern: string): string {
  if (FIFO_ID.test(pattern)) return pattern;
  const hash = createHash('sha256').update(pattern).digest('base64url').slice(0, 22);
  const readable = pattern
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x21-\x7e]+/g, '_')
    .slice(0, 100);
  return `${readable}~${hash}`;
}
