import { describe, expect, it } from '@jest/globals';
import { type ClientProviderOptions, ClientsModule } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { clientProvider, WsClient, type WsClientStatus } from '../src/index.js';

describe('WsClient in ClientsModule (type-checked by tsc -b under strict)', () => {
  it('is assignable to customClass, plain and through clientProvider()', () => {
    // Under strict, a Status-typed ClientProxy made this a TS2322 (on _status$.observers).
    const plain: ClientProviderOptions = { name: 'WS', customClass: WsClient, options: { url: 'ws://127.0.0.1:1' } };
    const typed: ClientProviderOptions = clientProvider({ name: 'WS', customClass: WsClient, options: { url: 'ws://127.0.0.1:1' } });
    expect(ClientsModule.register([plain, { ...typed, name: 'WS2' }]).providers).toHaveLength(2);
  });

  it('still types status as WsClientStatus', async () => {
    const client = new WsClient({ url: 'ws://127.0.0.1:1', reconnect: { enabled: false } });
    const status: WsClientStatus | undefined = await Promise.race([firstValueFrom(client.status), Promise.resolve(undefined)]);
    expect(status).toBeUndefined();
    await client.close();
  });
});
