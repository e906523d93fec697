import { runService } from '@wallet/platform';
import { AdminAppModule } from './app.module';

void runService({
  info: { name: 'admin', services: ['admin'] },
  imports: [AdminAppModule],
  port: (config) => config.services.admin.port,
});
