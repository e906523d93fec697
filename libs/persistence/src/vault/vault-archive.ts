import { ValidationError } from '@wallet/domain';
import { createHash } from 'node:crypto';
import type { VaultRecord, VaultRecordInput } from './vault-ports';

/**
 * The portable vault archive: JSON lines, streamable on export and checked as
 * a whole on import.
 *
 * ```
 * {"format":"wallet-vault-archive","version":1,"exportedAt":"...","keystore":<JSON or null>}
 * {"id":"...","category":"...","blob":"...","tags":{...}}        one line per record
 * {"end":true,"records":<n>,"sha256":"<hex of every byte before this line>"}
 * ```
 *
 * The digest detects truncation and accidental corruption, not a forger (the
 * records are client ciphertext, authenticated by the client's own keys).
 */
export const VAULT_ARCHIVE_FORMAT = 'wallet-vault-archive';

export interface VaultArchiveHeader {
  format: typeof VAULT_ARCHIVE_FORMAT;
  version: 1;
  exportedAt: string;
  /** The client's wrapped key set or keystore blob, opaque to the server. */
  keystore: unknown;
}

export interface VaultArchive {
  header: VaultArchiveHeader;
  records: VaultRecordInput[];
}

/** Streams an archive line by line (each chunk ends with `\n`). */
export async function* encodeVaultArchive(
  header: Omit<VaultArchiveHeader, 'format' | 'version'>,
  records: AsyncIterable<VaultRecord>,
): AsyncIterable<string> {
  const hash = createHash('sha256');
  let count = 0;
  const emit = (line: string) => {
    hash.update(line);
    return line;
  };
  yield emit(`${JSON.stringify({ format: VAULT_ARCHIVE_FORMAT, version: 1, exportedAt: header.exportedAt, keystore: header.keystore ?? null })}\n`);
  for await (const record of records) {
    count++;
    yield emit(`${JSON.stringify({ id: record.id, category: record.category, blob: record.blob, tags: record.tags })}\n`);
  }
  yield `${JSON.stringify({ end: true, records: count, sha256: hash.digest('hex') })}\n`;
}

function corrupted(message: string, line: number): ValidationError {
  return new ValidationError(`corrupted vault archive: ${message}`, [{ path: `/archive/line/${line}`, message }]);
}

/**
 * Parses and checks a whole archive (`maxRecords` bounds the work before any
 * record is looked at). Throws `ValidationError` naming the bad line; the
 * records' own fields are validated by the store on import.
 */
export function decodeVaultArchive(text: string, maxRecords: number): VaultArchive {
  if (typeof text !== 'string' || text.length === 0) throw corrupted('empty archive', 1);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2) throw corrupted('missing header or end line', 1);
  if (lines.length - 2 > maxRecords) throw corrupted(`more than ${maxRecords} records`, maxRecords + 2);
  const parse = (line: string, index: number): Record<string, unknown> => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw corrupted('not JSON', index + 1);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw corrupted('not a JSON object', index + 1);
    return value as Record<string, unknown>;
  };
  const header = parse(lines[0] as string, 0);
  if (header['format'] !== VAULT_ARCHIVE_FORMAT || header['version'] !== 1 || typeof header['exportedAt'] !== 'string') {
    throw corrupted('not a version 1 wallet vault archive', 1);
  }
  const endIndex = lines.length - 1;
  const end = parse(lines[endIndex] as string, endIndex);
  if (end['end'] !== true || typeof end['sha256'] !== 'string' || typeof end['records'] !== 'number') {
    throw corrupted('missing end line (truncated?)', endIndex + 1);
  }
  const hash = createHash('sha256');
  for (let i = 0; i < endIndex; i++) hash.update(`${lines[i]}\n`);
  if (hash.digest('hex') !== end['sha256']) throw corrupted('checksum mismatch', endIndex + 1);
  if (end['records'] !== endIndex - 1) throw corrupted('record count mismatch', endIndex + 1);
  const records: VaultRecordInput[] = [];
  for (let i = 1; i < endIndex; i++) {
    const record = parse(lines[i] as string, i);
    const keys = Object.keys(record).sort().join(',');
    if (keys !== 'blob,category,id,tags') throw corrupted('a record line has exactly id, category, blob and tags', i + 1);
    records.push(record as unknown as VaultRecordInput);
  }
  return {
    header: { format: VAULT_ARCHIVE_FORMAT, version: 1, exportedAt: header['exportedAt'] as string, keystore: header['keystore'] ?? null },
    records,
  };
}
