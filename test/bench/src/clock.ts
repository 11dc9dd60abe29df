/** Epoch milliseconds with sub-millisecond resolution, comparable between processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export const PAYLOAD_TEXT = 'the quick brown fox jumps over the lazy dog';
