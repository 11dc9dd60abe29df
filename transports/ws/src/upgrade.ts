import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** Answers an upgrade request with a plain HTTP error and drops the socket: no WebSocket opens. */
export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) return void socket.destroy();
  const body = `${message}\n`;
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
}

/** The subprotocols a client offered in `Sec-WebSocket-Protocol`. */
export function offeredSubprotocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  return header
    ? header
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : [];
}

export function requestPath(request: IncomingMessage): string {
  try {
    return new URL(request.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/**
 * Calls `onClose` the moment `server.close()` is called. An attached server must start its own
 * shutdown then: Nest closes the HTTP server before its microservices, and `close()` waits for
 * every socket, upgraded WebSockets included, so without this neither would ever finish.
 * Returns the function that restores the server's own `close`.
 */
export function onServerClosing(server: { close: (...args: never[]) => unknown }, onClose: () => void): () => void {
  const own = Object.hasOwn(server, 'close');
  const original = server.close;
  const patched = function (this: unknown, ...args: never[]) {
    onClose();
    return original.apply(this, args);
  };
  server.close = patched;
  return () => {
    if (server.close !== patched) return;
    if (own) server.close = original;
    else delete (server as { close?: unknown }).close;
  };
}
