import { runService } from '@wallet/platform';
import { AuthAppModule } from './app.module';

void runService({
  info: { name: 'auth', services: ['auth'] },
  imports: [AuthAppModule],
  port: (config) => config.services.auth.port,
});
