import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { BenchPayload, TargetModule } from '../types.js';

/**
 * Baseline: a bare `ws` echo server and client exchanging Nest's JSON packet shape
 * (`{ pattern, data, id }` → `{ id, response, isDisposed }`), correlated by id. No Nest.
 * `batchedWrites` corks the TCP socket for one turn of the event loop, as our transport does
 * (frames unchanged, fewer write syscalls): the floor of what Nest's own work costs.
 */
export function rawWsTarget(batchedWrites: boolean): TargetModule {
  const send = batchedWrites ? corkedSend : (socket: WebSocket, frame: string, cb?: (err?: Error) => void) => socket.send(frame, cb);
  return {
    async startServer(env) {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      await new Promise<void>((resolve) => wss.once('listening', resolve));
      wss.on('connection', (socket) => {
        socket.on('message', (frame) => {
          const packet = JSON.parse(frame.toString()) as { pattern: string; data: BenchPayload; id?: string };
          if (packet.id === undefined) return env.onEvent(packet.data);
          send(socket, JSON.stringify({ id: packet.id, response: packet.data, isDisposed: true }));
        });
      });
      return {
        info: { port: (wss.address() as AddressInfo).port },
        close: () => {
          for (const socket of wss.clients) socket.terminate();
          return new Promise<void>((resolve) => wss.close(() => resolve()));
        },
      };
    },
    async startClient(env) {
      const socket = new WebSocket(`ws://127.0.0.1:${env.info.port}`, { perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      const pending = new Map<string, (response: unknown) => void>();
      let nextId = 0;
      socket.on('message', (frame) => {
        const reply = JSON.parse(frame.toString()) as { id: string; response: unknown };
        const resolve = pending.get(reply.id);
        pending.delete(reply.id);
        resolve?.(reply.response);
      });
      return {
        request: (data) =>
          new Promise((resolve) => {
            const id = String(++nextId);
            pending.set(id, resolve);
            send(socket, JSON.stringify({ pattern: 'echo', data, id }));
          }),
        emit: (data) =>
          new Promise<void>((resolve, reject) => send(socket, JSON.stringify({ pattern: 'tick', data }), (err) => (err ? reject(err) : resolve()))),
        close: async () => socket.close(),
      };
    },
  };
}

const corked = new WeakSet<Duplex>();

/** Sends a frame with the underlying socket corked until setImmediate (one writev per turn). */
function corkedSend(socket: WebSocket, frame: string, cb?: (err?: Error) => void): void {
  const raw = (socket as unknown as { _socket: Duplex })._socket;
  if (!corked.has(raw)) {
    corked.add(raw);
    raw.cork();
    setImmediate(() => {
      corked.delete(raw);
      raw.uncork();
    });
  }
  socket.send(frame, cb);
}
