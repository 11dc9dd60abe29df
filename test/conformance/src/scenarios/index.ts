import type { Scenario } from '../scenario.js';
import { context } from './context.js';
import { delivery } from './delivery.js';
import { events } from './events.js';
import { lifecycle } from './lifecycle.js';
import { requestResponse } from './request-response.js';
import { serialization } from './serialization.js';
import { tracing } from './tracing.js';

/** The catalogue, in report order. */
export const scenarios: Scenario[] = [...requestResponse, ...events, ...context, ...lifecycle, ...delivery, ...serialization, ...tracing];
