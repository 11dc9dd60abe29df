/** Base of every error the transports raise themselves; `code` is stable for programs. */
export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A constructor option is missing or wrong; the message names the option and the fix. */
export class InvalidOptionError extends TransportError {
  constructor(
    readonly transport: string,
    readonly option: string,
    problem: string,
    fix: string,
  ) {
    super('INVALID_OPTION', `${transport}: option "${option}" ${problem}. ${fix}`);
  }
}

export class PayloadTooLargeError extends TransportError {
  constructor(
    readonly transport: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${transport}: the encoded message is ${size} bytes, over the limit of ${limit} bytes. ` +
        'Send a smaller payload (e.g. store the data elsewhere and send a reference) or raise the limit option.',
    );
  }
}

export class RequestTimeoutError extends TransportError {
  constructor(
    readonly pattern: string,
    readonly timeoutMs: number,
  ) {
    super('REQUEST_TIMEOUT', `No reply to "${pattern}" within ${timeoutMs} ms.`);
  }
}

/** The connection carrying a request went away before its reply arrived. */
export class ConnectionClosedError extends TransportError {
  constructor(transport: string, detail = 'the connection closed before the reply arrived') {
    super('CONNECTION_CLOSED', `${transport}: ${detail}.`);
  }
}

/** The backend cannot be reached (refused, unresolvable, timed out). */
export class BackendUnreachableError extends TransportError {
  constructor(transport: string, target: string, cause?: unknown) {
    const reason = messageOf(cause) ? `: ${messageOf(cause)}` : '';
    super('BACKEND_UNREACHABLE', `${transport}: cannot reach ${target}${reason}.`, { cause });
  }
}

/** A frame or message that is not a packet this transport understands. */
export class MalformedPacketError extends TransportError {
  constructor(detail: string, cause?: unknown) {
    super('MALFORMED_PACKET', `Malformed packet: ${detail}.`, { cause });
  }
}

/** Turns anything thrown into a plain `{ code?, message }` safe to send or log. */
export function describeError(err: unknown): { code?: string; message: string } {
  if (err instanceof TransportError) return { code: err.code, message: err.message };
  return { message: messageOf(err) ?? String(err) };
}

/** The message of anything error-like; `instanceof Error` fails for errors from another realm (vm, jest). */
export function messageOf(err: unknown): string | undefined {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : undefined;
}
