// CI step: `node test/backends/dist/fetch-kafka.js` fetches the Kafka broker's jars once; exits 1 when it cannot.
import { fetchKafkaJars } from './kafka.js';

try {
  const jars = await fetchKafkaJars();
  const size = `${(jars.bytes / 1024 / 1024).toFixed(1)} MiB`;
  const how = jars.fetched ? `fetched in ${(jars.ms / 1000).toFixed(1)} s` : 'already cached';
  console.log(`kafka: Apache Kafka ${jars.version} jars ${how} (${size}) in ${jars.dir}`);
} catch (err) {
  console.error(`kafka: FAILED to fetch the broker jars: ${(err as Error).message}`);
  process.exitCode = 1;
}
