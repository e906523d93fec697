import { Module } from '@nestjs/common';
import { WalletGateway } from './wallet.gateway';

/** The engine: the wallet's WebSocket API at `/api/v2/wallet`. Needs `websockets: true` on its server. */
@Module({ providers: [WalletGateway] })
export class EngineFeatureModule {}
