import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { WsContext } from '@nest-transports/ws';
import { IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import type { Caller } from './auth.js';

export class TransferDto {
  @IsString()
  @Matches(/^acc_[a-z0-9]{6}$/)
  from!: string;

  @IsString()
  @Matches(/^acc_[a-z0-9]{6}$/)
  to!: string;

  /** In cents. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  amount!: number;

  @IsString()
  @Length(1, 140)
  reference!: string;
}

/** Validation errors reach the client as an RpcException (an HttpException would become "Internal server error"). */
const validation = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  exceptionFactory: (errors) => new RpcException({ code: 'INVALID_PAYLOAD', errors: errors.flatMap((e) => Object.values(e.constraints ?? {})) }),
});

@Controller()
export class AccountsController {
  @UsePipes(validation)
  @MessagePattern('accounts.transfer')
  transfer(@Payload() dto: TransferDto, @Ctx() ctx: WsContext): { transferId: string; by: string } {
    const caller = ctx.getAuth<Caller>();
    if (!caller.scope.split(' ').includes('transfers:write')) {
      throw new RpcException({ code: 'FORBIDDEN', message: `${caller.sub} may not make transfers` });
    }
    return { transferId: `tr_${dto.from.slice(4)}_${dto.to.slice(4)}_${dto.amount}`, by: caller.sub };
  }

  @MessagePattern('accounts.whoami')
  whoami(@Ctx() ctx: WsContext): Caller {
    return ctx.getAuth<Caller>();
  }
}
