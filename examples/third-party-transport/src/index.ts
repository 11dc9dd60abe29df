export { MemoryBroker, BrokerNotRunningError, QueueFullError, type BrokerOptions, type Consumer } from './broker';
export { MemoryServer } from './server';
export { MemoryClient, PayloadTooLargeError } from './client';
export { MemoryContext } from './context';
export { MemoryRecord, MemoryRecordBuilder } from './record';
export type { MemoryServerOptions, MemoryClientOptions } from './options';
