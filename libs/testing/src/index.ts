export * from './suites';
export * from './redis-server';
export * from './mongo-server';
export * from './built-app';
export * from './sd-jwt-parties';
export * from './pki';
export * from './passkey-client';
export * from './oid4vci-issuer-peer';
