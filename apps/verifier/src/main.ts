import { runService } from '@wallet/platform';
import { VerifierAppModule } from './app.module';

void runService({
  info: { name: 'verifier', services: ['verifier'] },
  imports: [VerifierAppModule],
  port: (config) => config.services.verifier.port,
});
