import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canFetchJars, fetchJars, pinnedVersion, type MavenJars, type MavenServer } from './maven.js';
import { javaCommand, startManaged, tailFile } from './process.js';
import { freePort, isPortOpen, waitForPort } from './services.js';
import type { ResolvedBackend } from './types.js';

const ELASTICMQ: MavenServer = {
  label: 'ElasticMQ',
  folder: 'elasticmq',
  versionProperty: 'elasticmq.version',
  mainJar: (v) => `elasticmq-server_2.13-${v}.jar`,
};

/** ElasticMQ's own default port, where a locally run server is looked for. */
const DEFAULT_PORT = 9324;

/** The ElasticMQ version pinned in elasticmq/pom.xml. */
export const elasticMqVersion = (): string => pinnedVersion(ELASTICMQ);

/** Fetches ElasticMQ's jars from Maven Central once; throws when that fails. */
export const fetchElasticMqJars = (): Promise<MavenJars> => fetchJars(ELASTICMQ);

/** True when this machine can start ElasticMQ itself (so CI must not skip it). */
export const canStartElasticMq = (): boolean => Boolean(javaCommand() && canFetchJars(ELASTICMQ));

/**
 * The region ElasticMQ puts in its queue ARNs, and the one its clients sign for: AWS_REGION when set,
 * else eu-west-1 — deliberately not us-east-1, so that nothing in the transport can assume that region.
 */
export const elasticMqRegion = (): string => process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'eu-west-1';

/** `sqs-limits = strict`: ElasticMQ then validates as AWS does (names, ids, attribute values, sizes). */
function config(port: number, region: string): string {
  return [
    'include classpath("application.conf")',
    `node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }`,
    `rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
    'rest-stats { enabled = false }',
    'generate-node-address = false',
    `aws { region = "${region}", accountId = "000000000000" }`,
    '',
  ].join('\n');
}

export interface ElasticMqServer {
  version: string;
  /** `http://127.0.0.1:PORT`: pass it as `endpoint` to every SQSClient. */
  endpoint: string;
  region: string;
  logFile: string;
  startMs: number;
  stop(): Promise<void>;
}

/**
 * Starts ElasticMQ (strict limits) from the cached Maven Central jars on a free 127.0.0.1 port, in a
 * fresh temp folder that stop() (or this process exiting) removes.
 */
export async function startElasticMq(options: { timeoutMs?: number } = {}): Promise<ElasticMqServer> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const java = javaCommand();
  if (!java) throw new Error('no java on PATH');
  const jars = await fetchElasticMqJars();
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nest-transports-elasticmq-'));
  const logFile = path.join(dir, 'elasticmq.log');
  const configFile = path.join(dir, 'elasticmq.conf');
  const port = await freePort();
  const region = elasticMqRegion();
  writeFileSync(configFile, config(port, region));
  const jvm = ['-Xmx512m', '-Xms64m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', `-Dconfig.file=${configFile}`];
  const proc = startManaged(java, [...jvm, '-cp', path.join(jars.dir, '*'), 'org.elasticmq.server.Main'], { logFile, ownedDir: dir });
  if (!(await waitForPort('127.0.0.1', port, Math.max(1, timeoutMs), proc.exited))) {
    const why = proc.hasExited ? `it ended (${await proc.exited})` : `nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`;
    const log = tailFile(logFile);
    await proc.stop(2000);
    throw new Error(`ElasticMQ ${jars.version} did not come up: ${why}\n--- ElasticMQ log ---\n${log}`);
  }
  return { version: jars.version, endpoint: `http://127.0.0.1:${port}`, region, logFile, startMs: Date.now() - started, stop: () => proc.stop() };
}

/** ELASTICMQ_ENDPOINT → ElasticMQ on 127.0.0.1:9324 → ElasticMQ from Maven Central's jars (java + mvn) → unavailable. */
export async function resolveElasticMq(): Promise<ResolvedBackend> {
  const fromEnv = process.env.ELASTICMQ_ENDPOINT;
  if (fromEnv) {
    return {
      available: true,
      name: 'elasticmq',
      url: fromEnv,
      via: 'env',
      description: `ElasticMQ at ELASTICMQ_ENDPOINT=${fromEnv}`,
      env: { ELASTICMQ_ENDPOINT: fromEnv },
    };
  }
  if (await isPortOpen('127.0.0.1', DEFAULT_PORT)) {
    const url = `http://127.0.0.1:${DEFAULT_PORT}`;
    return { available: true, name: 'elasticmq', url, via: 'local', description: `ElasticMQ on ${url}`, env: { ELASTICMQ_ENDPOINT: url } };
  }
  const tried = ['ELASTICMQ_ENDPOINT is not set', `nothing listens on 127.0.0.1:${DEFAULT_PORT}`];
  if (!canStartElasticMq()) {
    tried.push(javaCommand() ? 'no mvn on PATH to fetch the ElasticMQ jars' : 'no java on PATH');
    return { available: false, name: 'elasticmq', reason: tried.join('; ') };
  }
  try {
    const server = await startElasticMq();
    return {
      available: true,
      name: 'elasticmq',
      url: server.endpoint,
      via: 'emulator',
      description: `ElasticMQ ${server.version} (Maven Central jars, strict limits, region ${server.region}) on ${server.endpoint}, started in ${server.startMs} ms`,
      env: { ELASTICMQ_ENDPOINT: server.endpoint },
      stop: server.stop,
    };
  } catch (err) {
    tried.push(`starting ElasticMQ from Maven Central's jars failed: ${err.message}`);
    return { available: false, name: 'elasticmq', reason: tried.join('; ') };
  }
}
