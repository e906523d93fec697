import { runService } from '@wallet/platform';
import { StorageAppModule } from './app.module';

void runService({
  info: { name: 'storage', services: ['storage'] },
  imports: [StorageAppModule],
  port: (config) => config.services.storage.port,
});
