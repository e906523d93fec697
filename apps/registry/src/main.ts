import { runService } from '@wallet/platform';
import { RegistryAppModule } from './app.module';

void runService({
  info: { name: 'registry', services: ['registry'] },
  imports: [RegistryAppModule],
  port: (config) => config.services.registry.port,
});
