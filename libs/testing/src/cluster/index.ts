export * from './chart';
export * from './client';
export * from './local-cluster';
export * from './nginx';
export * from './pods';
export { accepts, httpGet, statusOf, waitFor, type PlainAnswer } from './processes';
export { ClusterRedis, ClusterStore, type RestartableServer } from './stores';
