/** What a handler failed with, exactly as a Nest client receives it (`RpcException` error, "no handler" text, internal error). */
export class RemoteError extends Error {
  constructor(readonly error: unknown) {
    super(RemoteError.describe(error));
    this.name = 'RemoteError';
  }

  private static describe(error: unknown): string {
    if (typeof error === 'string') return error;
    const message = (error as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : JSON.stringify(error);
  }
}

/**
 * The request did not complete: not connected, connection lost, timed out, too large, or the
 * server was shutting down (`SERVER_SHUTTING_DOWN`: it did not run the request; safe to retry).
 */
export class WsBrowserError extends Error {
  constructor(
    readonly code: 'CONNECTION_CLOSED' | 'BACKEND_UNREACHABLE' | 'REQUEST_TIMEOUT' | 'PAYLOAD_TOO_LARGE' | 'CLIENT_CLOSED' | 'SERVER_SHUTTING_DOWN',
    message: string,
  ) {
    super(message);
    this.name = 'WsBrowserError';
  }
}
