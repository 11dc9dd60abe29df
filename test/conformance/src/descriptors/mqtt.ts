import assert from 'node:assert/strict';
import { ClientMqtt, MqttContext, MqttRecordBuilder, Transport } from '@nestjs/microservices';
import { resolveBackend } from '../backend.js';
import { onNest11 } from './nest-features.js';
import { defineTransport, type RunEnv } from '../descriptor.js';

const url = (env: RunEnv) => env.url ?? 'mqtt://127.0.0.1:1883';

export const mqtt = defineTransport({
  name: 'mqtt',
  kind: 'builtin',
  backend: 'MQTT 5 broker, QoS 0',
  capabilities: ['requestResponse', 'events', 'streaming', 'objectPatterns', 'metadata', 'orderedEvents', 'reconnect', 'fanOut'],
  differences: {
    'rr.no-handler': "nobody subscribes to an unknown pattern, so a request to it is never answered: only the client's own timeout ends it",
    'life.status': 'after close() client and server report closed (not disconnected)',
    'life.client-first': "a QoS 0 publish with no subscriber is dropped by the broker; only the client's own timeout ends the request",
    'ev.fan-out': 'every server subscribed to a topic gets every event (no shared subscriptions by default)',
    'ctx.metadata': 'metadata travels as MQTT 5 user properties (MqttRecordBuilder.setProperties, MqttContext.getPacket().properties)',
    ...onNest11({
      'life.reconnect': 'Nest 11: a ClientMqtt closed with close() does not connect again; the next request is never answered (fixed in Nest 12)',
    }),
  },
  resolve: () => resolveBackend('mqtt'),
  server: (env, codecs) => ({ transport: Transport.MQTT, options: { url: url(env), protocolVersion: 5, ...codecs } }),
  client: (env, codecs) => new ClientMqtt({ url: url(env), protocolVersion: 5, ...codecs }),
  unreachableClient: (env) => new ClientMqtt({ url: `mqtt://127.0.0.1:${env.sparePort}`, reconnectPeriod: 0 }),
  clientFirst: 'drops',
  statusAfterClose: { client: 'closed', server: 'closed' },
  noHandler: { behaviour: 'unanswered' },
  payload: { large: 1024 * 1024 },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof MqttContext, 'MqttContext');
    assert.equal(ctx.getTopic(), pattern);
    assert.equal(typeof ctx.getPacket().payload?.length, 'number');
  },
  metadata: {
    send: (_client, data, headers) => new MqttRecordBuilder(data).setProperties({ userProperties: headers }).build(),
    read: (ctx) => (ctx as MqttContext).getPacket().properties?.userProperties,
  },
});
