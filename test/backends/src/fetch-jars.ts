// CI step: `node test/backends/dist/fetch-jars.js kafka elasticmq` fetches the named Java servers' jars
// from Maven Central once, printing one "<name>: ..." line each; exits 1 when a fetch fails.
import { fetchElasticMqJars } from './elasticmq.js';
import { fetchKafkaJars } from './kafka.js';
import type { MavenJars } from './maven.js';

const SERVERS: Record<string, { label: string; fetch: () => Promise<MavenJars> }> = {
  kafka: { label: 'Apache Kafka', fetch: fetchKafkaJars },
  elasticmq: { label: 'ElasticMQ', fetch: fetchElasticMqJars },
};

const names = process.argv.slice(2);
for (const name of names.length > 0 ? names : Object.keys(SERVERS)) {
  const server = SERVERS[name];
  if (!server) {
    console.error(`${name}: unknown (known: ${Object.keys(SERVERS).join(', ')})`);
    process.exitCode = 1;
    continue;
  }
  try {
    const jars = await server.fetch();
    const size = `${(jars.bytes / 1024 / 1024).toFixed(1)} MiB`;
    const how = jars.fetched ? `fetched in ${(jars.ms / 1000).toFixed(1)} s` : 'already cached';
    console.log(`${name}: ${server.label} ${jars.version} jars ${how} (${size}) in ${jars.dir}`);
  } catch (err) {
    console.error(`${name}: FAILED to fetch the ${server.label} jars: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
