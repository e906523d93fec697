import { createStore } from './create-store';
import { runPersistenceContract } from './persistence.contract';

// The memory driver must not pull in the other drivers' packages.
jest.mock('better-sqlite3', () => {
  throw new Error('better-sqlite3 must not be loaded by the memory driver');
});
jest.mock('mongoose', () => {
  throw new Error('mongoose must not be loaded by the memory driver');
});

runPersistenceContract('memory', (deps) => createStore({ type: 'memory' }, deps));

describe('createStore', () => {
  it('rejects an unknown store type with ValidationError', async () => {
    await expect(createStore({ type: 'redis' } as never)).rejects.toMatchObject({
      code: 'validation_failed',
      issues: [{ path: '/type', message: 'must be memory, sqlite or mongodb, not redis' }],
    });
  });
});
