import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { ENGINE_ASYNCAPI_PATH, buildEngineAsyncApi } from './asyncapi';
import { zClientMessage } from './client-messages';
import { zServerMessage } from './server-messages';

type JsonObject = Record<string, unknown>;

const document = buildEngineAsyncApi();
const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as JsonObject)[key] : undefined), value);
const payload = (type: string): JsonObject => at(document, 'components', 'messages', type, 'payload') as JsonObject;

describe('buildEngineAsyncApi', () => {
  it(`matches the committed ${ENGINE_ASYNCAPI_PATH}`, () => {
    const committed = readFileSync(join(resolve(__dirname, '../../..'), ENGINE_ASYNCAPI_PATH), 'utf8');
    const expected = `${JSON.stringify(document, null, 2)}\n`;
    if (committed !== expected) {
      throw new Error(`${ENGINE_ASYNCAPI_PATH} is out of date with libs/engine-protocol: run \`npm run docs:engine\``);
    }
  });

  it('is a valid AsyncAPI 3.0.0 document (no error diagnostics)', async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(document as JsonObject & { asyncapi: string });
    const errors = diagnostics.filter((diagnostic) => diagnostic.severity === DiagnosticSeverity.Error);
    const shown = errors.map((e) => `${e.code} at /${e.path.join('/')}: ${e.message}`).join('\n');
    expect(shown).toBe('');
    expect(parsed).toBeDefined();
    expect(parsed?.version()).toBe('3.0.0');
    expect(parsed?.messages().length).toBe(zClientMessage.options.length + zServerMessage.options.length);
  }, 30_000);

  it.each([
    ['receive', zClientMessage.options.map((schema) => schema.shape.type.value)],
    ['send', zServerMessage.options.map((schema) => schema.shape.type.value)],
  ] as const)('lists every message of the union under operation %s, each requiring its type', (operation, types) => {
    expect(at(document, 'operations', operation, 'action')).toBe(operation);
    const refs = (at(document, 'operations', operation, 'messages') as { $ref: string }[]).map((ref) => ref.$ref);
    expect(refs).toEqual(types.map((type) => `#/channels/wallet/messages/${type}`));
    for (const type of types) {
      expect(at(document, 'channels', 'wallet', 'messages', type)).toEqual({ $ref: `#/components/messages/${type}` });
      expect(at(document, 'components', 'messages', type, 'name')).toBe(type);
      expect(payload(type).required).toContain('type');
      expect(at(payload(type), 'properties', 'type', 'const')).toBe(type);
    }
  });

  it('follows the schemas field by field', () => {
    expect(at(payload('flow_start'), 'properties', 'params')).toBeDefined();
    expect(payload('flow_start').required).toEqual(expect.arrayContaining(['message_id', 'protocol', 'params']));
    expect(at(payload('sign_request'), 'properties', 'items', 'items')).toEqual({ $ref: '#/components/schemas/sign_item' });
    expect(at(document, 'components', 'schemas', 'sign_item', 'properties', 'purpose', 'enum')).toEqual(['proof', 'dpop']);
    expect(at(payload('error'), 'properties', 'code', 'description')).toContain('`flow_busy`: Someone else');
    expect(at(payload('flow_error'), 'properties', 'code', 'description')).toContain('`untrusted_issuer`: ');
  });
});
