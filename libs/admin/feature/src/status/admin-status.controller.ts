import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { WalletConfig } from '@wallet/config';
import { Public, WALLET_CACHE, WALLET_CONFIG, WALLET_STORE } from '@wallet/platform';
import type { Cache } from '@wallet/cache';
import type { Store } from '@wallet/persistence';
import { AdminStatusResponse } from './admin-status-responses.dto';

export interface AdminStatus {
  status: 'ok';
  mode: WalletConfig['mode'];
  store: string;
  cache: string;
}

/** `GET /admin/status`: the one admin route that needs no token; says nothing secret. */
@ApiTags('status')
@Public({ tenant: false })
@Controller('admin')
export class AdminStatusController {
  constructor(
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @Inject(WALLET_STORE) private readonly store: Store,
    @Inject(WALLET_CACHE) private readonly cache: Cache,
  ) {}

  @Get('status')
  @ApiOperation({ operationId: 'getStatus', summary: 'Service status (no token needed; says nothing secret)' })
  @ApiOkResponse({ type: AdminStatusResponse, description: 'The service runs' })
  status(): AdminStatus {
    return { status: 'ok', mode: this.config.mode, store: this.store.driver, cache: this.cache.driver };
  }
}
