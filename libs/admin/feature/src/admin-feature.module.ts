import { Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { AdminTokenGuard, announceGeneratedAdminToken, WALLET_CONFIG } from '@wallet/platform';
import { AdminJobsService } from './admin-jobs.service';
import { AdminStatusController } from './admin-status.controller';
import { ADMIN_CLOCK, AdminService } from './admin.service';
import { AuditController } from './audit.controller';
import { OpenApiController } from './openapi.controller';
import { InvitesController, IssuersController, UsersController, VerifiersController } from './tenant-resources.controller';
import { TenantsController } from './tenants.controller';
import { VerifierServicesController } from './verifier-services.controller';

/** The admin API. It is only ever served on the admin port. */
@Module({
  controllers: [
    AdminStatusController,
    TenantsController,
    UsersController,
    IssuersController,
    VerifiersController,
    InvitesController,
    AuditController,
    OpenApiController,
    VerifierServicesController,
  ],
  providers: [AdminTokenGuard, AdminService, AdminJobsService, { provide: ADMIN_CLOCK, useValue: () => new Date() }],
})
export class AdminFeatureModule implements OnApplicationBootstrap {
  constructor(@Inject(WALLET_CONFIG) private readonly config: WalletConfig) {}

  onApplicationBootstrap(): void {
    announceGeneratedAdminToken(this.config);
  }
}
