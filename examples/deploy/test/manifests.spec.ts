import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const DEPLOY = fileURLToPath(new URL('../', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const docs: Doc[] = readdirSync(`${DEPLOY}k8s`)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(`${DEPLOY}k8s/${file}`, 'utf8')).map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      return d.toJS() as Doc;
    }),
  );
const ofKind = (kind: string) => docs.filter((d) => d.kind === kind);

describe('Kubernetes manifests', () => {
  it('are well-formed objects of known kinds', () => {
    expect(docs.length).toBeGreaterThanOrEqual(8);
    for (const doc of docs) {
      expect(['v1', 'apps/v1']).toContain(doc.apiVersion);
      expect(['Deployment', 'Service', 'ConfigMap', 'Secret']).toContain(doc.kind);
      expect(doc.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('run each service with replicas, probes on a named port, and config from the ConfigMap and Secret', () => {
    const configMaps = new Set(ofKind('ConfigMap').map((d) => d.metadata.name));
    const secrets = new Set(ofKind('Secret').map((d) => d.metadata.name));
    const deployments = ofKind('Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['inventory', 'orders', 'payments']);
    for (const deployment of deployments) {
      const { spec } = deployment;
      expect(spec.replicas).toBeGreaterThanOrEqual(2);
      expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
      const [container] = spec.template.spec.containers;
      const ports = new Set(container.ports.map((p: { name: string }) => p.name));
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect(ports.has(probe.httpGet.port)).toBe(true);
      }
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.env).toContainEqual({ name: 'SERVICE', value: deployment.metadata.name });
      for (const from of container.envFrom) {
        if (from.configMapRef) expect(configMaps.has(from.configMapRef.name)).toBe(true);
        if (from.secretRef) expect(secrets.has(from.secretRef.name)).toBe(true);
      }
      expect(container.securityContext.runAsNonRoot).toBe(true);
      expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(10);
    }
  });

  it('give every Deployment a Service that selects its pods on a declared port', () => {
    for (const service of ofKind('Service')) {
      const deployment = ofKind('Deployment').find((d) => Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
      expect(deployment).toBeDefined();
      const ports = deployment!.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
      for (const port of service.spec.ports) expect(ports).toContain(port.targetPort);
    }
  });

  it('configure a transport the services know', () => {
    const config = ofKind('ConfigMap')[0].data!;
    expect(['ws', 'sqs', 'pubsub', 'tcp', 'redis', 'nats', 'mqtt', 'rmq']).toContain(config.TRANSPORT);
  });
});

describe('Dockerfile', () => {
  const lines = readFileSync(`${DEPLOY}Dockerfile`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));
  it('copies only paths that exist and runs the built service entry point as a non-root user', () => {
    for (const line of lines.filter((l) => /^COPY (?!--from)/.test(l))) {
      const sources = line
        .replace(/^COPY\s+/, '')
        .split(/\s+/)
        .slice(0, -1);
      for (const source of sources) expect(existsSync(ROOT + source)).toBe(true);
    }
    expect(lines.some((l) => /^USER (node|\d+)/.test(l))).toBe(true);
    const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD'))!.replace(/^CMD\s+/, '')) as string[];
    expect(cmd[0]).toBe('node');
    expect(existsSync(ROOT + cmd[1].replace('/dist/', '/src/').replace(/\.js$/, '.ts'))).toBe(true);
    expect(lines.filter((l) => l.startsWith('FROM')).every((l) => /node:20/.test(l))).toBe(true);
  });
});
