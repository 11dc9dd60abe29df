import type { IncomingMessage } from 'node:http';
import { BackendUnreachableError } from '@nest-transports/shared';
import { WebSocket } from 'ws';
import type { ResolvedWsClientOptions } from './options.js';

/**
 * Opens one WebSocket and settles when it is open, or fails within `connectTimeout` with an
 * error that says why: refused, unreachable, timed out, or the HTTP status of a refused handshake.
 */
export async function openSocket(options: ResolvedWsClientOptions): Promise<WebSocket> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    headers.authorization = `Bearer ${token}`;
  }
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
    };
    function fail(cause: Error) {
      cleanup();
      socket.on('error', () => undefined);
      socket.terminate();
      reject(new BackendUnreachableError('WsClient', options.url, cause));
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
  });
}
