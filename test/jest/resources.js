// What is alive in this process, described so that a person can tell whose it is: sockets with
// both ends (and which backend the far end is), servers with their address, child processes with
// their command line, timers with where they were created. Used by the per-file leak check
// (environment.js) and by the exit watchdog (exit-watchdog.js).

const BACKEND_PORTS = { 6379: 'Redis', 4222: 'NATS', 1883: 'MQTT', 5672: 'RabbitMQ' };

function portOf(url) {
  const match = /:(\d+)(?:\/|$)/.exec(url ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Ports of the backends the global setup handed over, by name, read when asked (the env changes). */
function backendNames() {
  const names = new Map(Object.entries(BACKEND_PORTS).map(([port, name]) => [Number(port), name]));
  const env = process.env;
  if (env.SQS_ENDPOINT) names.set(portOf(env.SQS_ENDPOINT), 'the SQS emulator');
  if (env.PUBSUB_EMULATOR_HOST) names.set(portOf(`//${env.PUBSUB_EMULATOR_HOST}`), 'the Pub/Sub emulator');
  for (const broker of (env.KAFKA_BROKERS ?? '').split(',').filter(Boolean)) names.set(portOf(`//${broker}`), 'Kafka');
  return names;
}

function describeSocket(socket, names) {
  if (socket.remotePort === undefined && socket.localPort === undefined) {
    const fd = socket._handle?.fd;
    return `${socket.constructor.name} (pipe${fd >= 0 ? ` fd ${fd}` : ''}${socket._type ? `, ${socket._type}` : ''})`;
  }
  const far = names.get(socket.remotePort);
  const near = names.get(socket.localPort);
  const role = near ? `, accepted by ${near}` : far ? ` (${far})` : '';
  return `${socket.constructor.name} ${socket.localAddress}:${socket.localPort} -> ${socket.remoteAddress}:${socket.remotePort}${role}`;
}

/** One line for a handle returned by process._getActiveHandles(). */
export function describeHandle(handle, names = backendNames()) {
  const kind = handle?.constructor?.name ?? typeof handle;
  try {
    if (typeof handle.listen === 'function' && typeof handle.address === 'function') {
      const address = handle.address();
      const where = typeof address === 'string' ? address : address ? `${address.address}:${address.port}` : 'not bound';
      return `${kind} listening on ${where}`;
    }
    if (typeof handle.spawnargs === 'object') return `${kind} pid ${handle.pid}: ${handle.spawnargs.join(' ').slice(0, 200)}`;
    if ('remotePort' in handle || '_handle' in handle) return describeSocket(handle, names);
  } catch (err) {
    return `${kind} (${err.message})`;
  }
  return kind;
}

/** Ref'ed handles (sockets, servers, child processes…) and pending requests, as live objects. */
export function activeHandles() {
  return [...process._getActiveHandles(), ...process._getActiveRequests()];
}

/** Counts by type of every ref'ed resource (process.getActiveResourcesInfo(): handles, requests, timers). */
export function resourceCounts() {
  const counts = new Map();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** A readable list of everything that keeps this process alive right now. */
export function describeAlive(keep = () => true) {
  const names = backendNames();
  const lines = activeHandles()
    .filter(keep)
    .map((h) => describeHandle(h, names));
  const timers = resourceCounts().get('Timeout') ?? 0;
  if (timers) lines.push(`${timers} ref'ed timer(s) (Timeout)`);
  return lines;
}

export { backendNames };
