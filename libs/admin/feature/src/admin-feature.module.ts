import { Module } from '@nestjs/common';
import { AdminTokenGuard, ServiceApi } from '@wallet/platform';
import { AdminJobsService } from './jobs/admin-jobs.service';
import { AdminStatusController } from './admin-status.controller';
import { ADMIN_CLOCK, AdminService } from './admin.service';
import { AuditController } from './audit.controller';
import { InvitesController, IssuersController, UsersController, VerifiersController } from './tenant-resources.controller';
import { TenantsController } from './tenants.controller';
import { VerifierServicesController } from './verifier-services.controller';

/**
 * The admin API. It is only ever served on the admin port. In development
 * without a configured token, the process that serves it keeps a generated
 * one in the data directory and says where (see `runServers`).
 */
@ServiceApi('admin')
@Module({
  controllers: [
    AdminStatusController,
    TenantsController,
    UsersController,
    IssuersController,
    VerifiersController,
    InvitesController,
    AuditController,
    VerifierServicesController,
  ],
  providers: [AdminTokenGuard, AdminService, AdminJobsService, { provide: ADMIN_CLOCK, useValue: () => new Date() }],
})
export class AdminFeatureModule {}
