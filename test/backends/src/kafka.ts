import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { canFetchJars, fetchJars, jarsDir, pinnedVersion, pomFile, run, type MavenJars, type MavenServer } from './maven.js';
import { javaCommand, startManaged, tailFile, type ManagedProcess } from './process.js';
import { freePort, isPortOpen, waitForPort } from './services.js';
import type { ResolvedBackend } from './types.js';

const KAFKA: MavenServer = { label: 'Apache Kafka', folder: 'kafka', versionProperty: 'kafka.version', mainJar: (v) => `kafka_2.13-${v}.jar` };
export const KAFKA_POM = pomFile(KAFKA);

/** The Kafka version pinned in kafka/pom.xml. */
export const kafkaVersion = (): string => pinnedVersion(KAFKA);

/** Where the broker's jars are cached: node_modules/.cache/nest-transports/kafka-<version>/ at the repo root. */
export const kafkaJarsDir = (version = kafkaVersion()): string => jarsDir(KAFKA, version);

export type KafkaJars = MavenJars;

/** Fetches the broker's jars from Maven Central once (`mvn dependency:copy-dependencies`); throws when that fails. */
export const fetchKafkaJars = (): Promise<KafkaJars> => fetchJars(KAFKA);

function serverProperties(dataDir: string, port: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    // Lets test consumers use short session timeouts (the default floor is 6 s).
    'group.min.session.timeout.ms=1000',
    'num.network.threads=2',
    'num.io.threads=2',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  '',
].join('\n');

async function waitForMetadata(brokers: string, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const port = Number(brokers.split(':')[1]);
  if (!(await waitForPort('127.0.0.1', port, timeoutMs, proc.exited))) {
    throw new Error(proc.hasExited ? `the broker ended (${await proc.exited})` : `nothing listened on ${brokers} within ${timeoutMs} ms`);
  }
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'nest-transports-backends',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  let lastError: Error | undefined;
  while (Date.now() < deadline && !proc.hasExited) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      if ((await admin.describeCluster()).brokers.length > 0) return;
    } catch (err) {
      lastError = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (proc.hasExited) throw new Error(`the broker ended (${await proc.exited})`);
  throw new Error(`no answer to a metadata request on ${brokers} within ${timeoutMs} ms (${lastError?.message ?? 'no error'})`);
}

export interface KafkaBroker {
  version: string;
  /** `127.0.0.1:PORT`, for KAFKA_BROKERS / the `brokers` option. */
  brokers: string;
  logFile: string;
  startMs: number;
  stop(): Promise<void>;
}

/**
 * Starts a single-node KRaft broker (broker + controller) from the cached Maven Central jars on free
 * 127.0.0.1 ports, in a fresh temp folder that stop() (or this process exiting) removes.
 */
export async function startKafkaBroker(options: { timeoutMs?: number } = {}): Promise<KafkaBroker> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const java = javaCommand();
  if (!java) throw new Error('no java on PATH');
  const jars = await fetchKafkaJars();
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nest-transports-kafka-'));
  const logFile = path.join(dir, 'broker.log');
  let prepared: { brokers: string; jvm: string[]; propsFile: string };
  try {
    prepared = await formatLogDir(java, jars.dir, dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`preparing the KRaft log folder failed: ${err.message}`);
  }
  const { brokers, jvm, propsFile } = prepared;
  const proc = startManaged(java, ['-Xmx512m', '-Xms128m', ...jvm, 'kafka.Kafka', propsFile], { logFile, ownedDir: dir });
  try {
    await waitForMetadata(brokers, proc, timeoutMs);
  } catch (err) {
    const log = tailFile(logFile);
    await proc.stop(2000);
    throw new Error(`Apache Kafka ${jars.version} did not come up: ${err.message}\n--- broker log ---\n${log}`);
  }
  return { version: jars.version, brokers, logFile, startMs: Date.now() - started, stop: () => proc.stop() };
}

/** A Kafka UUID: 16 random bytes in URL-safe base64 without padding, never starting with "-" (an option to StorageTool). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Writes the broker's config into `dir` for two free ports and formats its single-node KRaft log folder. */
async function formatLogDir(java: string, jarsDir: string, dir: string) {
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const propsFile = path.join(dir, 'server.properties');
  const log4jFile = path.join(dir, 'log4j.properties');
  writeFileSync(propsFile, serverProperties(path.join(dir, 'data'), port, controllerPort));
  writeFileSync(log4jFile, LOG4J);
  const jvm = ['-XX:+UseSerialGC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4jFile}`, '-cp', path.join(jarsDir, '*')];
  await run(java, ['-Xmx256m', ...jvm, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', propsFile], 60_000);
  return { brokers: `127.0.0.1:${port}`, jvm, propsFile };
}

/**
 * Creates topics ahead of use and waits until every partition has a leader. Needed on KRaft brokers:
 * a metadata request for a missing topic gets UNKNOWN_TOPIC_OR_PARTITION while auto-creation runs,
 * which KafkaJS 2.2 does not retry (it retries only ZooKeeper's LEADER_NOT_AVAILABLE), so a consumer
 * subscribing to a new topic fails. For the same reason KafkaJS's own `waitForLeaders` fails now and
 * then right after the creation; the wait here retries both errors, bounded by `timeoutMs`.
 * A topic is a name (`numPartitions` partitions) or `{ topic, numPartitions }`; existing topics are kept.
 */
export async function createKafkaTopics(
  brokers: string,
  topics: Array<string | { topic: string; numPartitions?: number }>,
  numPartitions = 1,
  timeoutMs = 15_000,
): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const specs = topics.map((t) => (typeof t === 'string' ? { topic: t, numPartitions } : { numPartitions, ...t }));
  const admin = new Kafka({
    clientId: 'nest-transports-backends',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 10 },
  }).admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  const retriable = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);
  /** Runs `attempt` until it succeeds; retries KRaft's "not there yet" errors until the deadline. */
  const settle = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        const type = (err as { type?: string }).type;
        if (!type || !retriable.has(type)) throw err;
        if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    await admin.createTopics({ topics: specs, waitForLeaders: false, timeout: timeoutMs });
    // A leader in the metadata is not enough on KRaft: the broker applies new partitions
    // asynchronously and answers NOT_LEADER_OR_FOLLOWER (KafkaJS: NOT_LEADER_FOR_PARTITION) to Produce and ListOffsets until it has, and
    // KafkaJS's producer then retries each send on its own (with jitter: concurrent sends get
    // reordered). ListOffsets succeeds only once every partition is served.
    await Promise.all(
      specs.map((spec) =>
        settle(`topic ${spec.topic}`, async () => {
          const offsets = await admin.fetchTopicOffsets(spec.topic);
          if (offsets.length < spec.numPartitions)
            throw Object.assign(new Error(`${offsets.length}/${spec.numPartitions} partitions`), { type: 'LEADER_NOT_AVAILABLE' });
        }),
      ),
    );
  } finally {
    await admin.disconnect();
  }
}

/** A Docker engine's unix socket that accepts connections, if any. Only local sockets are probed. */
async function dockerSocket(): Promise<string | undefined> {
  const host = process.env.DOCKER_HOST;
  const socket = host?.startsWith('unix://') ? host.slice('unix://'.length) : host ? undefined : '/var/run/docker.sock';
  if (!socket || !existsSync(socket)) return undefined;
  return new Promise((resolve) => {
    const conn = net.connect({ path: socket });
    const done = (ok: boolean) => {
      conn.destroy();
      resolve(ok ? socket : undefined);
    };
    conn.setTimeout(500, () => done(false));
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
  });
}

/** True when this machine can start the broker itself (so CI must not skip Kafka). */
export function canStartKafka(): boolean {
  return Boolean(javaCommand() && canFetchJars(KAFKA));
}

/** KAFKA_BROKERS → a broker on 127.0.0.1:9092 → the Maven Central broker (java + mvn) → Docker → unavailable. */
export async function resolveKafka(): Promise<ResolvedBackend> {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) {
    return { available: true, name: 'kafka', url: fromEnv, via: 'env', description: `Kafka at KAFKA_BROKERS=${fromEnv}`, env: { KAFKA_BROKERS: fromEnv } };
  }
  if (await isPortOpen('127.0.0.1', 9092)) {
    const url = '127.0.0.1:9092';
    return { available: true, name: 'kafka', url, via: 'local', description: `Kafka on ${url}`, env: { KAFKA_BROKERS: url } };
  }
  const tried = ['KAFKA_BROKERS is not set', 'nothing listens on 127.0.0.1:9092'];
  if (canStartKafka()) {
    try {
      const broker = await startKafkaBroker();
      return {
        available: true,
        name: 'kafka',
        url: broker.brokers,
        via: 'emulator',
        description: `Apache Kafka ${broker.version} (Maven Central jars, KRaft) on ${broker.brokers}, started in ${broker.startMs} ms`,
        env: { KAFKA_BROKERS: broker.brokers },
        stop: broker.stop,
      };
    } catch (err) {
      tried.push(`starting Apache Kafka from Maven Central's jars failed: ${err.message}`);
    }
  } else {
    tried.push(javaCommand() ? 'no mvn on PATH to fetch the broker jars' : 'no java on PATH');
  }
  const docker = await dockerSocket();
  tried.push(docker ? `a Docker engine answers on ${docker}, but testcontainers is not installed` : 'no Docker engine');
  return { available: false, name: 'kafka', reason: tried.join('; ') };
}
