import { ApiProperty } from '@nestjs/swagger';

export class AdminStatusResponse {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
  @ApiProperty({ enum: ['development', 'production'] }) mode!: string;
  @ApiProperty({ description: 'Store driver', example: 'sqlite' }) store!: string;
  @ApiProperty({ description: 'Cache driver', example: 'redis' }) cache!: string;
}
