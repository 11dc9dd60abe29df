import net from 'node:net';
import type { BackendName, BackendResolution } from './types.js';

/**
 * True when something accepts a TCP connection on host:port within `timeoutMs`. A closed port
 * answers at once (refused); the timeout is only for a host that drops packets, and is generous:
 * a process whose event loop is busy for a while (a loaded machine, jest compiling modules) sees
 * its timer fire before the connection it already has.
 */
export function isPortOpen(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls host:port until it accepts connections; false after `timeoutMs`, or at once when `abort` settles. */
export async function waitForPort(host: string, port: number, timeoutMs: number, abort?: Promise<unknown>): Promise<boolean> {
  let aborted = false;
  void abort?.then(() => (aborted = true));
  const deadline = Date.now() + timeoutMs;
  while (!aborted && Date.now() < deadline) {
    if (await isPortOpen(host, port, Math.max(250, Math.min(2000, deadline - Date.now())))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type LocalServiceName = Extract<BackendName, 'redis' | 'nats' | 'mqtt' | 'amqp'>;

interface LocalService {
  label: string;
  envVar: string;
  port: number;
  url: string;
}

export const LOCAL_SERVICES: Record<LocalServiceName, LocalService> = {
  redis: { label: 'Redis', envVar: 'REDIS_URL', port: 6379, url: 'redis://127.0.0.1:6379' },
  nats: { label: 'NATS', envVar: 'NATS_URL', port: 4222, url: 'nats://127.0.0.1:4222' },
  mqtt: { label: 'MQTT', envVar: 'MQTT_URL', port: 1883, url: 'mqtt://127.0.0.1:1883' },
  amqp: { label: 'RabbitMQ', envVar: 'AMQP_URL', port: 5672, url: 'amqp://guest:guest@127.0.0.1:5672' },
};

export function isLocalService(name: BackendName): name is LocalServiceName {
  return name in LOCAL_SERVICES;
}

/** The address in the environment, else the service on its default 127.0.0.1 port, else why not. */
export async function resolveLocalService(name: LocalServiceName): Promise<BackendResolution> {
  const service = LOCAL_SERVICES[name];
  const fromEnv = process.env[service.envVar];
  if (fromEnv) {
    return {
      available: true,
      name,
      url: fromEnv,
      via: 'env',
      description: `${service.label} at ${service.envVar}=${fromEnv}`,
      env: { [service.envVar]: fromEnv },
    };
  }
  if (await isPortOpen('127.0.0.1', service.port)) {
    return {
      available: true,
      name,
      url: service.url,
      via: 'local',
      description: `${service.label} on 127.0.0.1:${service.port}`,
      env: { [service.envVar]: service.url },
    };
  }
  return {
    available: false,
    name,
    reason: `${service.envVar} is not set and nothing listens on 127.0.0.1:${service.port}`,
  };
}
