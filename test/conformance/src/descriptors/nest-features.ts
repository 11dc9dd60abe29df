import { ClientProxy } from '@nestjs/microservices';

/** Nest 12 sends packet metadata (`ClientProxy.setOnDispatchHook`, `ReadPacket.metadata`); Nest 11 has neither. */
export const hasPacketMetadata = typeof (ClientProxy.prototype as { setOnDispatchHook?: unknown }).setOnDispatchHook === 'function';

/** `notApplicable` entries of a row whose metadata travels as Nest 12 packet metadata. */
export const packetMetadataNotApplicable: Record<string, string> = hasPacketMetadata
  ? {}
  : { 'ctx.metadata': 'Nest 11 has no packet metadata (ClientProxy.setOnDispatchHook and ReadPacket.metadata are Nest 12)' };
