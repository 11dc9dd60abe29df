#!/usr/bin/env node
// Only Node's own modules here: `--help` must work, and a missing peer must be named, before Nest is loaded.
import { findPackage, installLine, suitePackage } from './environment.js';

const USAGE = `usage: nest-conformance [transport-name | ./descriptor.{js,mjs,cjs,ts} ...] [options]

Runs the conformance scenarios against each transport and prints the transport × scenario matrix.
A path loads a descriptor module (its default export, or every exported descriptor); .ts files
need the "typescript" package. A name runs a built-in row: tcp, redis, nats, mqtt, rmq, grpc, kafka,
ws, sqs, pubsub (each needs its client library; a missing one makes the row "skipped" with the
install line). With no argument, every built-in row runs.

options:
  --only=PREFIX[,PREFIX]  run only the scenarios whose id starts with a prefix (--only=rr.,ev.basic)
  --probe                 run every scenario as if every capability were claimed, to find out what
                          a transport does; writes conformance-probe.{json,md}, never the verdict
  --fail-on-leaks         an unhandled error raised while a server or client closes fails the scenario
  --time-scale=N          multiply every time limit by N (at least 1; default 1), for a slow or busy machine
  --out=DIR               where to write the reports (default: reports)
  --catalogue             print the scenario catalogue (markdown) and exit
  -h, --help              this text

Writes DIR/conformance.json and DIR/conformance.md (after each row, so finished rows are kept).
Exits 1 when a claimed scenario fails, 2 on a usage or descriptor error.
${suitePackage.name} ${suitePackage.version}: needs Node >= 20.19 and @nestjs/common, @nestjs/core,
@nestjs/microservices 11 or 12, reflect-metadata and rxjs 7.`;

const PEERS = ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', 'reflect-metadata', 'rxjs'];

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const missing = PEERS.filter((name) => !findPackage(name) && !findPackage(name, process.cwd()));
  if (missing.length) {
    console.error(`nest-conformance needs ${missing.join(', ')} (peer dependencies): ${installLine(missing)}`);
    return 2;
  }
  const { run } = await import('./run.js');
  return run(argv, USAGE);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error && err.name === 'DescriptorError' ? err.message : err);
    process.exit(2);
  },
);
