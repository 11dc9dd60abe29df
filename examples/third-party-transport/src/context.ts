import { BaseRpcContext } from '@nestjs/microservices';

type MemoryContextArgs = [queue: string, pattern: string, headers: Record<string, string>, attempt: number];

/** What `@Ctx()` gets in a handler of the memory transport. */
export class MemoryContext extends BaseRpcContext<MemoryContextArgs> {
  /** The queue the message was read from. */
  getQueue(): string {
    return this.args[0];
  }

  /** The pattern, as the client sent it (normalised). */
  getPattern(): string {
    return this.args[1];
  }

  /** The headers set with MemoryRecordBuilder.setHeaders(). */
  getHeaders(): Record<string, string> {
    return this.args[2];
  }

  /** 1 on the first delivery, 2 on the first redelivery… */
  getAttempt(): number {
    return this.args[3];
  }
}
