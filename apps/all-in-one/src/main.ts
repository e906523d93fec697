import { runServers } from '@wallet/platform';
import { ALL_IN_ONE_SERVERS } from './servers';

/**
 * All six services in one process on one store and one cache (by default a
 * SQLite file under the data directory and the in-memory cache).
 */
void runServers('all-in-one', ALL_IN_ONE_SERVERS);
