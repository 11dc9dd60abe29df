import type { TransportDescriptor } from '../descriptor.js';
import { grpc } from './grpc.js';
import { kafka } from './kafka.js';
import { mqtt } from './mqtt.js';
import { nats } from './nats.js';
import { pubsub } from './pubsub.js';
import { redis } from './redis.js';
import { rmq } from './rmq.js';
import { sqs, sqsElasticMq } from './sqs.js';
import { tcp } from './tcp.js';
import { ws } from './ws.js';

/** Every transport the project's CLI runs, built-ins first. */
export const descriptors: TransportDescriptor[] = [tcp, redis, nats, mqtt, rmq, grpc, kafka, ws, sqs, sqsElasticMq, pubsub];
