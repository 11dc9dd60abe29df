export { WsBrowserClient } from './client.js';
export { RemoteError, WsBrowserError } from './errors.js';
export { jsonCodec, type BrowserCodec, type CallOptions, type WsBrowserClientOptions } from './options.js';
