import type { Cache } from '@wallet/cache';

/** Admin publishes here after it created, replaced or deleted a verifier service; every verifier replica reloads them. */
export const VERIFIER_SERVICES_CHANGED_CHANNEL = 'verifier-services-changed';

/** Tells every verifier replica to reload the admin-managed services now rather than at its next periodic read. */
export async function publishVerifierServicesChanged(cache: Cache, serviceId: string): Promise<void> {
  await cache.publish(VERIFIER_SERVICES_CHANGED_CHANNEL, serviceId);
}
