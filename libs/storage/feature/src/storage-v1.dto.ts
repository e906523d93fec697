import { ApiProperty } from '@nestjs/swagger';
import { CheckedBy, zodCheck, zodJsonSchema } from '@wallet/platform';
import { IsString } from 'class-validator';
import { z } from 'zod';

/**
 * The v1 compatibility routes' shapes. A v1 credential or presentation is
 * the reference front ends' own JSON, stored as it is: the server reads only
 * the fields it indexes and keeps every other member (`instanceId`,
 * `audience`, ...), so these objects are open zod schemas (ADR 0015) checked
 * inside the DTOs with `@CheckedBy`, not closed DTO classes.
 */

export const zV1Credential = z.looseObject({
  credentialIdentifier: z.string().min(1).max(512),
  credential: z.string().max(1_048_576),
  format: z.string().min(1).max(64),
});
export type V1Credential = z.infer<typeof zV1Credential>;

export const zV1Presentation = z.looseObject({
  presentationIdentifier: z.string().min(1).max(512),
  presentation: z.string().max(1_048_576),
});
export type V1Presentation = z.infer<typeof zV1Presentation>;

const zV1Credentials = z.array(zV1Credential).min(1).max(100);

const CREDENTIAL_EXAMPLE = { credentialIdentifier: 'urn:cred:1', credential: 'eyJhbGciOiJFUzI1NiJ9...~', format: 'dc+sd-jwt', instanceId: 0 };

/** `POST /storage/vc`: credentials to store (each overwrites one with the same identifier). */
export class StoreV1CredentialsDto {
  @ApiProperty({
    description: 'At most 100 credentials; other members of each are kept as they are.',
    ...zodJsonSchema(zV1Credentials),
    example: [CREDENTIAL_EXAMPLE],
  })
  @CheckedBy(zodCheck(zV1Credentials))
  credentials!: V1Credential[];
}

/** `POST /storage/vc/update`: a stored credential's new content. */
export class UpdateV1CredentialDto {
  @ApiProperty({ description: 'Other members are kept as they are.', ...zodJsonSchema(zV1Credential), example: CREDENTIAL_EXAMPLE })
  @CheckedBy(zodCheck(zV1Credential))
  credential!: V1Credential;
}

/** The schema of `POST /storage/vp`'s body (the presentation itself, open: other members are kept). */
export const V1_PRESENTATION_SCHEMA = {
  ...zodJsonSchema(zV1Presentation),
  example: { presentationIdentifier: 'vp-1', presentation: 'eyJhbGciOiJFUzI1NiJ9...', audience: 'https://verifier.example.com' },
};

export class V1CredentialPathDto {
  @ApiProperty({ description: 'The credential identifier, percent-encoded. An unknown one is a 404.', example: 'urn%3Acred%3A1' })
  @IsString()
  credential_identifier!: string;
}

export class V1PresentationPathDto {
  @ApiProperty({ description: 'The presentation identifier, percent-encoded. An unknown one is a 404.', example: 'vp-1' })
  @IsString()
  presentation_identifier!: string;
}
