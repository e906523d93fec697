import { runService } from '@wallet/platform';
import { EngineAppModule } from './app.module';

void runService({
  info: { name: 'engine', services: ['engine'] },
  imports: [EngineAppModule],
  port: (config) => config.services.engine.port,
  websockets: true,
});
