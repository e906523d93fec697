export * from './admin-feature.module';
export * from './admin.dto';
export { AdminService, hashInviteCode, issuerKeyContext, type AdminActor } from './admin.service';
