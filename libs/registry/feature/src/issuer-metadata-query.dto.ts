import { ApiProperty } from '@nestjs/swagger';
import { IsString, MinLength, MaxLength } from 'class-validator';

/** `GET /registry/issuer-metadata`: the credential issuer to describe. */
export class IssuerMetadataQueryDto {
  @ApiProperty({
    description: 'The credential issuer identifier: an https URL without query, fragment or user information.',
    example: 'https://issuer.example.com',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  issuer!: string;
}
