export * from './wql';
