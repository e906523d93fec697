import { Module } from '@nestjs/common';
import { AdminStatusController } from './admin-status.controller';

/** The admin API. It is only ever served on the admin port. */
@Module({ controllers: [AdminStatusController] })
export class AdminFeatureModule {}
