import { Module } from '@nestjs/common';
import { AdminTokenGuard, ServiceApi } from '@wallet/platform';
import { ADMIN_CLOCK, AdminChanges } from './admin-changes.service';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { InvitesController } from './invites/invites.controller';
import { InvitesService } from './invites/invites.service';
import { IssuersController } from './issuers/issuers.controller';
import { IssuersService } from './issuers/issuers.service';
import { AdminJobsService } from './jobs/admin-jobs.service';
import { AdminStatusController } from './status/admin-status.controller';
import { TenantsController } from './tenants/tenants.controller';
import { TenantsService } from './tenants/tenants.service';
import { UsersController } from './users/users.controller';
import { UserSessions } from './users/user-sessions';
import { UsersService } from './users/users.service';
import { VerifierServiceDefinitionsService } from './verifier-services/verifier-service-definitions.service';
import { VerifierServicesController } from './verifier-services/verifier-services.controller';
import { VerifiersController } from './verifiers/verifiers.controller';
import { VerifiersService } from './verifiers/verifiers.service';

/**
 * The admin API. It is only ever served on the admin port. In development
 * without a configured token, the process that serves it keeps a generated
 * one in the data directory and says where (see `runServers`).
 *
 * Each bounded context (tenants, users, issuers, verifiers, invites, verifier
 * services, audit) has its own folder with its controller, service and DTOs;
 * they share only `AdminChanges` (existence checks, audit events, change
 * announcements). One Nest module wires them: the admin API document is built
 * from the routes of the modules tagged `@ServiceApi('admin')`, in the order
 * listed here.
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
  providers: [
    AdminTokenGuard,
    { provide: ADMIN_CLOCK, useValue: () => new Date() },
    AdminChanges,
    TenantsService,
    UsersService,
    UserSessions,
    IssuersService,
    VerifiersService,
    InvitesService,
    AuditService,
    VerifierServiceDefinitionsService,
    AdminJobsService,
  ],
})
export class AdminFeatureModule {}
