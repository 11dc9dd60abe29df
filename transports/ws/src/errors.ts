import { TransportError } from '@nest-transports/shared';
import { SERVER_SHUTTING_DOWN } from './wire.js';

/**
 * The server refused the request because it was shutting down: the handler did not run, so
 * the request is safe to retry (on another server, or on this one once it is back).
 */
export class ServerShuttingDownError extends TransportError {
  constructor(transport: string, target: string) {
    super(SERVER_SHUTTING_DOWN, `${transport}: ${target} is shutting down and did not run the request; it is safe to retry.`);
  }
}
