import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

/** `DELETE /registry/vctm`: the locally registered type to remove. */
export class RemoveTypeMetadataQueryDto {
  @ApiProperty({ description: 'The `vct` of the local type metadata to remove.', example: 'https://credentials.example.com/pid' })
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  vct!: string;
}
