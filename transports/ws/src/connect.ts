import type { IncomingMessage } from 'node:http';
import { BackendUnreachableError, ConnectionClosedError } from '@nest-transports/shared';
import { WebSocket } from 'ws';
import type { ResolvedWsClientOptions } from './options.js';

/**
 * Opens one WebSocket and settles when it is open, or fails within `connectTimeout` with an
 * error that says why: refused, unreachable, timed out, or the HTTP status of a refused handshake.
 * Aborting `signal` (the client was closed) ends the attempt at once: the socket is terminated.
 */
export async function openSocket(options: ResolvedWsClientOptions, signal?: AbortSignal): Promise<WebSocket> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    headers.authorization = `Bearer ${token}`;
  }
  if (signal?.aborted) throw closedWhileConnecting();
  const socket = new WebSocket(options.url, [options.subprotocol], {
    ...options.tls,
    headers,
    handshakeTimeout: options.connectTimeout,
    maxPayload: options.maxReplyPayload,
    perMessageDeflate: options.perMessageDeflate,
  });
  return new Promise<WebSocket>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no answer within ${options.connectTimeout} ms`)), options.connectTimeout + 50);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('open', onOpen);
      socket.off('error', fail);
      socket.off('close', onClose);
      socket.off('unexpected-response', onRefused);
      signal?.removeEventListener('abort', onAbort);
    };
    function fail(cause: Error) {
      end(new BackendUnreachableError('WsClient', options.url, cause));
    }
    function end(err: Error) {
      cleanup();
      socket.on('error', () => undefined);
      socket.terminate();
      reject(err);
    }
    function onAbort() {
      end(closedWhileConnecting());
    }
    function onOpen() {
      cleanup();
      resolve(socket);
    }
    function onClose(code: number, reason: Buffer) {
      fail(new Error(`the server closed the connection (${code}${reason.length ? ` ${reason}` : ''})`));
    }
    function onRefused(request: { destroy(): void }, response: IncomingMessage) {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        request.destroy();
        const body = Buffer.concat(chunks).toString('utf8').trim().slice(0, 200);
        fail(new Error(`the server refused the handshake with HTTP ${response.statusCode}${body ? `: ${body}` : ''}`));
      });
    }
    socket.once('open', onOpen);
    socket.once('error', fail);
    socket.once('close', onClose);
    socket.once('unexpected-response', onRefused);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function closedWhileConnecting(): ConnectionClosedError {
  return new ConnectionClosedError('WsClient', 'the client was closed while connecting');
}
