import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy, ClientProxy as NestClientProxy, Transport, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { isObservable, map, type Observable } from 'rxjs';
import { defineTransport, type RunEnv } from '../descriptor.js';

const protoPath = fileURLToPath(new URL('../../proto/conformance.proto', import.meta.url));
const SERVICE = 'Conformance';
const options = (port: number) => ({ package: 'conformance', protoPath, url: `127.0.0.1:${port}` });

/** `${ns}.sum` → `Sum`: the scenario's handler name is the gRPC method. */
const methodOf = (pattern: unknown) => {
  const name = String(pattern).split('.').pop() ?? '';
  return name.charAt(0).toUpperCase() + name.slice(1);
};

/**
 * Lets the scenarios' `send(pattern, data)` drive a gRPC service: the pattern names the method and
 * the data travels as JSON in the proto's Envelope. gRPC's own client has no `send`/`emit`.
 */
export class GrpcScenarioClient extends NestClientProxy {
  private proxy: ClientGrpcProxy | null = null;
  private service: Record<string, (req: unknown, md?: Metadata) => Observable<{ json: string }>> | null = null;

  constructor(private readonly port: number) {
    super();
  }

  override send<TResult = any>(pattern: unknown, data: unknown): Observable<TResult> {
    const service = this.getService();
    const method = methodOf(pattern);
    const call = service[method.charAt(0).toLowerCase() + method.slice(1)];
    if (!call) throw new Error(`no gRPC method for ${String(pattern)}`);
    return call.call(service, { json: JSON.stringify(data) }).pipe(map((reply) => JSON.parse(reply.json) as TResult));
  }

  private getService() {
    if (!this.service) {
      this.proxy = new ClientGrpcProxy(options(this.port));
      this.service = this.proxy.getService(SERVICE);
    }
    return this.service!;
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {
    this.proxy?.close();
    this.proxy = this.service = null;
  }

  protected publish(_packet: ReadPacket, _callback: (packet: WritePacket) => void): () => void {
    throw new Error('gRPC has no generic publish');
  }

  protected async dispatchEvent(): Promise<never> {
    throw new Error('gRPC has no events');
  }

  unwrap<T>(): T {
    return this.proxy as T;
  }
}

export const grpc = defineTransport({
  name: 'grpc',
  kind: 'builtin',
  backend: 'none (gRPC over HTTP/2, test/conformance/proto/conformance.proto)',
  capabilities: ['requestResponse', 'streaming', 'reconnect', 'payloadLimit'],
  differences: {
    'life.client-first': 'grpc-js fails a call at once with UNAVAILABLE while nothing listens (no waitForReady)',
    'rr.no-handler': 'a declared but unimplemented method fails with gRPC status UNIMPLEMENTED, not Nest\'s "no matching message handler"',
    'rr.payload-too-large': 'grpc-js refuses messages over 4 MiB (RESOURCE_EXHAUSTED) unless maxReceiveMessageLength is raised',
  },
  notApplicable: {
    'rr.object-pattern': 'gRPC routes by service and method, not by pattern',
    'rr.rpc-exception': "errors cross gRPC as a status code and a details string: an RpcException's error object does not arrive as an object",
    'rr.unknown-error': "errors cross gRPC as a status code (UNKNOWN), not as Nest's { status, message } object",
    'pipe.validation': 'the validation error is an RpcException object, which gRPC reduces to a status and a string',
    'ser.custom': 'gRPC encodes with protobuf; the serializer/deserializer options do not apply',
    'life.status': 'ClientGrpcProxy and ServerGrpc report no connection status',
    'ctx.metadata': 'scenario not wired for gRPC Metadata yet',
  },
  resolve: async () => ({ available: true, description: 'no broker' }),
  server: (env) => ({ transport: Transport.GRPC, options: options(env.port) }),
  client: (env: RunEnv) => new GrpcScenarioClient(env.port),
  unreachableClient: (env) => new GrpcScenarioClient(env.sparePort),
  clientFirst: 'errors',
  noHandler: { behaviour: 'error', message: /UNIMPLEMENTED/ },
  payload: { large: 3 * 1024 * 1024, tooLarge: 5 * 1024 * 1024, tooLargeError: /RESOURCE_EXHAUSTED|larger than max/i },
  handlerPattern: (pattern) => ({ pattern: { service: SERVICE, rpc: methodOf(pattern), streaming: 'no_stream' }, transport: Transport.GRPC }),
  adaptHandler: (handle) => async (envelope: { json: string }, ctx: unknown) => {
    const result = await handle(JSON.parse(envelope.json), ctx);
    const wrap = (value: unknown) => ({ json: JSON.stringify(value) });
    return isObservable(result) ? result.pipe(map(wrap)) : wrap(result);
  },
  checkContext(ctx) {
    assert.ok(ctx instanceof Metadata, 'gRPC Metadata');
  },
});
