import { ClientProxy } from '@nestjs/microservices';
import { nestMajor } from '../environment.js';

/** Nest 12 sends packet metadata (`ClientProxy.setOnDispatchHook`, `ReadPacket.metadata`); Nest 11 has neither. */
export const hasPacketMetadata = typeof (ClientProxy.prototype as { setOnDispatchHook?: unknown }).setOnDispatchHook === 'function';

/** `notApplicable` entries of a row whose metadata travels as Nest 12 packet metadata. */
export const packetMetadataNotApplicable: Record<string, string> = hasPacketMetadata
  ? {}
  : { 'ctx.metadata': 'Nest 11 has no packet metadata (ClientProxy.setOnDispatchHook and ReadPacket.metadata are Nest 12)' };

/** `differences` that hold on Nest 11 only: what the suite sees there (checked on 11.2.6) and Nest 12 no longer does. */
export const onNest11 = (entries: Record<string, string>): Record<string, string> => ((nestMajor() ?? 12) < 12 ? entries : {});
