import { createStore } from '../create-store';
import { runVaultContract } from './vault.contract';

runVaultContract('memory', (deps) => createStore({ type: 'memory' }, deps));
