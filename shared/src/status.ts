/** Connection states every transport reports through `status` (Nest's built-ins use the same words). */
export const TransportStatus = {
  CONNECTED: 'connected',
  DISCONNECTED: 'disconnected',
  RECONNECTING: 'reconnecting',
} as const;

export type TransportStatus = (typeof TransportStatus)[keyof typeof TransportStatus];
