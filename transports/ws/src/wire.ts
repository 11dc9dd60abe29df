/** Close codes the server sends, by cause. The wire protocol in the package README explains each. */
export const WS_CLOSE_CODES = {
  /** The server is shutting down (after the replies in flight were sent). */
  GOING_AWAY: 1001,
  /** A frame `ws` could not parse (bad opcode, unmasked client frame, reserved bits). */
  PROTOCOL_ERROR: 1002,
  /** A binary frame on a JSON server, or a text frame on a MessagePack server. */
  UNSUPPORTED_DATA: 1003,
  /** A frame that is not a packet: undecodable, no pattern and no usable id, or an id of the wrong type. */
  INVALID_PAYLOAD: 1007,
  /** The peer does not read its replies, left a frame unfinished past `frameTimeout`, or sent too many fragments. */
  POLICY_VIOLATION: 1008,
  /** A frame larger than `maxPayload`. */
  MESSAGE_TOO_BIG: 1009,
  /** Handling the peer's frame failed in a way the server did not foresee; only that connection ends. */
  INTERNAL_ERROR: 1011,
} as const;

/**
 * Close reason (with 1001) when every request the server ran was answered before it closed:
 * a request still unanswered on the client was never run, and is safe to retry. When
 * `closeTimeout` cut handlers off the reason is `CLOSE_REASON_CUT_OFF`.
 */
export const CLOSE_REASON_DRAINED = 'server shutting down';
export const CLOSE_REASON_CUT_OFF = 'server shutting down; closeTimeout passed with handlers running';

/** `err.code` of the reply to a request that arrived after `close()` began: it was not run; retry it elsewhere. */
export const SERVER_SHUTTING_DOWN = 'SERVER_SHUTTING_DOWN';

export interface ShuttingDownReply {
  id: string;
  err: { status: 'error'; code: typeof SERVER_SHUTTING_DOWN; message: string };
  isDisposed: true;
}

export function shuttingDownReply(id: string): ShuttingDownReply {
  return {
    id,
    err: { status: 'error', code: SERVER_SHUTTING_DOWN, message: 'The server is shutting down; the request was not run. Retry it on another server.' },
    isDisposed: true,
  };
}

/** True for the `err` of a reply that says the request was refused because the server is shutting down. */
export function isShuttingDownError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === SERVER_SHUTTING_DOWN;
}
