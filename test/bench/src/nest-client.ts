import type { ClientProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { BenchClient, BenchPayload } from './types.js';

/** What the harness uses of a Nest ClientProxy (built-ins narrow the status and event types). */
export type BenchableClient = Pick<ClientProxy<any, any>, 'send' | 'emit' | 'connect' | 'close'>;

/** Drives any Nest ClientProxy: `send('echo')` and `emit('tick')`. */
export async function nestBenchClient(client: BenchableClient): Promise<BenchClient> {
  await client.connect();
  return {
    request: (data: BenchPayload) => lastValueFrom(client.send('echo', data)),
    emit: (data: BenchPayload) => lastValueFrom(client.emit('tick', data), { defaultValue: undefined }),
    close: async () => void (await client.close()),
  };
}
