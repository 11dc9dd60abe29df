import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { types } from 'node:util';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Bounds a wait: rejects with `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Resolves once `predicate()` holds (polled every 5 ms), bounded by `ms`; `what` may be computed at the timeout. */
export async function until(predicate: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const done = deferred();
  const timer = setInterval(() => predicate() && done.resolve(), 5);
  try {
    if (!predicate())
      await withTimeout(done.promise, ms, 'condition').catch((_err) => {
        throw new TimeoutError(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`);
      });
  } finally {
    clearInterval(timer);
  }
}

export function uniqueNamespace(transport: string, scenario: string): string {
  return `ct-${transport}-${scenario.replace(/[^a-z0-9]+/gi, '-')}-${randomBytes(3).toString('hex')}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function errorText(err: unknown): string {
  // isNativeError too: an error from another realm (node:assert's under jest's vm) is no `instanceof Error` here.
  if (isError(err)) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** Whether a value is an Error of any realm. */
export function isError(err: unknown): err is Error {
  return err instanceof Error || types.isNativeError(err);
}

/** A short, unambiguous rendering of a value for messages: `undefined`, `"6"` vs `6`, buffers by size. */
export function show(value: unknown, max = 120): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (Buffer.isBuffer(value)) text = `<Buffer ${value.length} bytes>`;
  else if (typeof value === 'function') text = `[function ${value.name || 'anonymous'}]`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}
