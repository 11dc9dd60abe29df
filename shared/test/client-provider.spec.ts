import { describe, expect, it } from '@jest/globals';
import { ClientProxy, type ClientProviderOptions, ClientsModule, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { clientProvider } from '../src/index.js';

interface FakeOptions {
  url: string;
  retries?: number;
}

class FakeClient extends ClientProxy {
  constructor(readonly options: FakeOptions) {
    super();
  }
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  unwrap<T>(): T {
    return undefined as T;
  }
  protected publish(_packet: ReadPacket, _callback: (packet: WritePacket) => void): () => void {
    return () => {};
  }
  protected async dispatchEvent<T = unknown>(_packet: ReadPacket): Promise<T> {
    return undefined as T;
  }
}

describe('clientProvider', () => {
  it('returns its argument, usable by ClientsModule.register and registerAsync', () => {
    const entry = { name: 'FAKE', customClass: FakeClient, options: { url: 'fake://x' } };
    const typed: ClientProviderOptions = clientProvider(entry);
    expect(typed).toBe(entry);
    expect(
      ClientsModule.register([clientProvider({ name: 'FAKE', customClass: FakeClient, options: { url: 'fake://x', retries: 2 } })]).providers,
    ).toHaveLength(1);
    expect(
      ClientsModule.registerAsync([{ name: 'FAKE', useFactory: () => clientProvider({ customClass: FakeClient, options: { url: 'fake://y' } }) }]).providers,
    ).toHaveLength(1);
  });

  it('types options by the client class (checked by tsc -b: the lines below must not compile)', () => {
    const bad = [
      // @ts-expect-error `urll` is not an option of FakeClient
      clientProvider({ name: 'FAKE', customClass: FakeClient, options: { urll: 'fake://x' } }),
      // @ts-expect-error `url` is required
      clientProvider({ customClass: FakeClient, options: { retries: 1 } }),
      // @ts-expect-error wrong type
      clientProvider({ customClass: FakeClient, options: { url: 'fake://x', retries: 'two' } }),
    ];
    expect(bad).toHaveLength(3);
  });
});
