export * from './public-config.module';
export * from './public-config.controller';
export * from './resolve-request-tenant';
