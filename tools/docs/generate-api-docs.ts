/**
 * Writes docs/api/<service>.openapi.json for all six services from the
 * routes, DTOs and @nestjs/swagger decorators (what each service serves at
 * its own `.../openapi.json`). With --check, writes nothing and exits 1 when
 * a committed file differs (a Jest test checks the same in CI). Service
 * names limit it to those services' files.
 *
 *   npm run docs:api [-- [--check] [admin auth engine registry storage verifier]]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SERVICE_API_DOCUMENTS } from '@wallet/platform';
import { generateApiDocuments } from '../../apps/all-in-one/src/api-documents';

const WORKSPACE_ROOT = resolve(__dirname, '..', '..');

async function main(args: readonly string[]): Promise<number> {
  const services = args.filter((arg) => arg !== '--check');
  const unknown = services.filter((arg) => !Object.hasOwn(SERVICE_API_DOCUMENTS, arg));
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\nusage: generate-api-docs [--check] [service...]\n`);
    return 2;
  }
  const check = args.includes('--check');
  let stale = 0;
  const documents = (await generateApiDocuments()).filter((d) => services.length === 0 || services.includes(d.service));
  for (const { file, text, undocumented } of documents) {
    for (const property of undocumented) process.stderr.write(`warning: ${file}: ${property} is validated but has no @ApiProperty\n`);
    const target = join(WORKSPACE_ROOT, file);
    const actual = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
    if (actual === text) {
      if (check) process.stdout.write(`${file} is up to date\n`);
      continue;
    }
    if (check) {
      process.stderr.write(`${file} is ${actual === undefined ? 'missing' : 'out of date'}; run \`npm run docs:api\`\n`);
      stale++;
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
    process.stdout.write(`wrote ${file}\n`);
  }
  return stale > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
