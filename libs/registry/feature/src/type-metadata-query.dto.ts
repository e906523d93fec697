import { ApiProperty } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsString, MaxLength, MinLength } from 'class-validator';

const SRI_DESCRIPTION =
  'W3C Subresource Integrity string of the document the referrer expects (`sha256-`, `sha384-` or `sha512-` followed by base64); a mismatch is a 502 `integrity_mismatch`.';
const SRI_EXAMPLE = 'sha256-47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=';

/** `GET /registry/type-metadata`: the type to resolve and, optionally, the integrity its referrer names. */
export class TypeMetadataQueryDto {
  @ApiProperty({
    description: 'The SD-JWT VC type (`vct`): an https URL to fetch, or a type registered locally or by a source list.',
    example: 'https://credentials.example.com/pid',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  vct!: string;

  @ApiProperty({ description: SRI_DESCRIPTION, example: SRI_EXAMPLE })
  @Omittable()
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  integrity?: string;

  @ApiProperty({ description: `The same as \`integrity\`, named as SD-JWT VC references name it (\`vct#integrity\`); \`integrity\` wins when both are given. ${SRI_DESCRIPTION}`, example: SRI_EXAMPLE })
  @Omittable()
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  'vct#integrity'?: string;
}
