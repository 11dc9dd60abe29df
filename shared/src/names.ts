import { randomUUID } from 'node:crypto';

/** A name no other client or test run uses: `prefix-<8 hex>-<base36 time>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}-${Date.now().toString(36)}`;
}
