import { ApiProperty } from '@nestjs/swagger';
import type { Issuer } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import { NEXT_CURSOR, RecordMeta } from '../admin-responses.dto';
import { recordMeta } from '../admin-records';

/** An issuer; its client private key is write-only, so only whether one is set shows. */
export function issuerView(issuer: Stored<Issuer>) {
  return {
    id: issuer.id,
    credential_issuer_identifier: issuer.credentialIssuerIdentifier,
    client_id: issuer.clientId,
    visible: issuer.visible,
    client_private_key_set: issuer.clientPrivateKey !== null,
    ...recordMeta(issuer),
  };
}

export class IssuerResponse extends RecordMeta {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'uri' }) credential_issuer_identifier!: string;
  @ApiProperty({ type: String, nullable: true }) client_id!: string | null;
  @ApiProperty() visible!: boolean;
  @ApiProperty({ description: 'The key itself is never returned' }) client_private_key_set!: boolean;
}

export class IssuerListResponse {
  @ApiProperty({ type: [IssuerResponse] }) items!: IssuerResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
