import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';

/** `GET /tenant/{id}/config`: the tenant named in the path. */
export class TenantConfigPathDto {
  @ApiProperty({
    description: 'The tenant id (1-63 lowercase letters, digits or inner hyphens). An id of another shape is a tenant that does not exist (404).',
    example: 'acme',
  })
  @IsString()
  id!: string;
}

/** What front ends may know about a tenant (no trust endpoints, no secrets). */
export class PublicTenantConfigDto {
  @ApiProperty({ example: 'acme' })
  id!: string;

  @ApiProperty({ example: 'Acme Corp' })
  display_name!: string;

  @ApiProperty({ description: 'Whether registering needs an invite code.', example: false })
  require_invite!: boolean;

  @ApiProperty({ type: [String], description: 'The protocols the tenant allows.', example: ['oid4vci', 'oid4vp'] })
  allowed_protocols!: string[];
}

/** A visible credential issuer of the tenant (never its client key). */
export class PublicIssuerDto {
  @ApiProperty({ example: 'pid' })
  id!: string;

  @ApiProperty({ description: 'The OpenID4VCI credential issuer identifier.', example: 'https://pid.example.com' })
  credential_issuer_identifier!: string;

  @ApiProperty({ type: String, nullable: true, description: 'The client id the wallet uses at the issuer, if registered.', example: 'wallet' })
  client_id!: string | null;

  @ApiProperty({ example: true })
  visible!: boolean;
}

/** A relying party of the tenant, for front ends that list where credentials can be presented. */
export class PublicVerifierDto {
  @ApiProperty({ example: 'shop' })
  id!: string;

  @ApiProperty({ example: 'Shop' })
  name!: string;

  @ApiProperty({ example: 'https://shop.example.com' })
  url!: string;
}
