export * from './public-config.module';
export * from './public-config.controller';
