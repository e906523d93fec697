import { ApiProperty } from '@nestjs/swagger';
import type { Verifier } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import { NEXT_CURSOR, RecordMeta } from '../admin-responses.dto';
import { recordMeta } from '../admin-records';

/** A verifier shown to the tenant's wallets. */
export function verifierView(verifier: Stored<Verifier>) {
  return {
    id: verifier.id,
    name: verifier.name,
    url: verifier.url,
    client_id: verifier.clientId ?? null,
    jwks: verifier.jwks ?? [],
    ...recordMeta(verifier),
  };
}

export class VerifierResponse extends RecordMeta {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'uri' }) url!: string;
  @ApiProperty({ type: String, nullable: true, description: 'OpenID4VP pre-registered client id (no prefix), or null' }) client_id!: string | null;
  @ApiProperty({ type: 'array', items: { type: 'object' }, description: 'Public keys its signed requests use (pre-registered verifiers)' }) jwks!: unknown[];
}

export class VerifierListResponse {
  @ApiProperty({ type: [VerifierResponse] }) items!: VerifierResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
