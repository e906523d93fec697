export * from './signing-keys';
export * from './jwt';
export * from './key-ring';
export * from './did';
export * from './x5c';
export * from './jws-verify';
export * from './random-token';
export * from './jwk-thumbprint';
