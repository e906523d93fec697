import { UnavailableError } from '@wallet/domain';

/**
 * Creates indexes one per command, retrying a failed command twice: FerretDB v1
 * drops the connection when one createIndexes re-declares two or more existing
 * indexes, and a concurrent creator may win the race to create the collection.
 * `create` must map connection failures to `UnavailableError`, which is not retried.
 */
export async function createIndexesOneByOne<S>(specs: readonly S[], create: (spec: S) => Promise<unknown>): Promise<void> {
  for (const spec of specs) {
    for (let attempt = 1; ; attempt++) {
      try {
        await create(spec);
        break;
      } catch (error) {
        if (attempt >= 3 || error instanceof UnavailableError) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }
}
