export * from './errors';
export * from './ids';
export * from './entities';
export * from './validation-issues';
