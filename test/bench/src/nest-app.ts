import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import type { BenchPayload, RunningServer } from './types.js';

let sink: (data: BenchPayload) => void = () => undefined;

@Controller()
class BenchController {
  @MessagePattern('echo')
  echo(@Payload() data: BenchPayload): BenchPayload {
    return data;
  }

  @EventPattern('tick')
  tick(@Payload() data: BenchPayload): void {
    sink(data);
  }
}

@Module({ controllers: [BenchController] })
class BenchModule {}

/** A Nest microservice with `echo` (request-response) and `tick` (event) handlers. */
export async function startNestServer(options: MicroserviceOptions, onEvent: (data: BenchPayload) => void): Promise<INestMicroservice & RunningServer> {
  sink = onEvent;
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(BenchModule, { ...options, logger: ['error'] });
  await app.listen();
  return app as INestMicroservice & RunningServer;
}
