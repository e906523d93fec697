import { ApiProperty } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsString, Matches, MaxLength } from 'class-validator';

/** The largest form field the wallet may send: the default `server.bodyLimitBytes`. */
const FIELD_MAX = 1_048_576;

/**
 * The form parameters of the wallet's authorization response (OpenID4VP
 * `direct_post` and `direct_post.jwt`, §8.2 and §8.3). Their content (the
 * presentations, the JWE, the submission) is checked by the protocol code in
 * `PresentationService.handleResponse`; here only that each is one string of bounded
 * size. Unknown parameters are ignored.
 */
export class WalletResponseDto {
  @ApiProperty({ description: 'The session id, as the authorization request\'s `state` (inside the JWE for `direct_post.jwt`).', example: 'kqC9n1Vb1m6Z2m4pQx3yZbYk8hQwR2tF' })
  @Omittable()
  @IsString()
  @MaxLength(512)
  state?: string;

  @ApiProperty({
    required: false,
    description: 'The presentations: a JSON object of DCQL credential query ids to arrays of presentations, or (Presentation Exchange) a presentation or a JSON array of them.',
    example: '{"pid":["eyJhbGciOiJFUzI1NiIsInR5cCI6ImRjK3NkLWp3dCJ9...~WyJzYWx0IiwiZ2l2ZW5fbmFtZSIsIkVyaWthIl0~eyJhbGciOiJFUzI1NiIsInR5cCI6ImtiK2p3dCJ9..."]}'
  })
  @Omittable()
  @IsString()
  @MaxLength(FIELD_MAX)
  vp_token?: string;

  @ApiProperty({ description: 'Presentation Exchange: the JSON presentation submission.' })
  @Omittable()
  @IsString()
  @MaxLength(65_536)
  presentation_submission?: string;

  @ApiProperty({ description: '`direct_post.jwt`: the response encrypted (JWE, ECDH-ES) to the key of the session\'s request.' })
  @Omittable()
  @IsString()
  @MaxLength(FIELD_MAX)
  response?: string;

  @ApiProperty({ description: 'The wallet declined or failed (an OAuth error code such as `access_denied`): the session fails.', example: 'access_denied' })
  @Omittable()
  @IsString()
  @MaxLength(256)
  error?: string;

  @ApiProperty({ description: 'Why the wallet declined (not shown to the application).' })
  @Omittable()
  @IsString()
  @MaxLength(2048)
  error_description?: string;
}

const WALLET_NONCE_MESSAGE = 'wallet_nonce is malformed';

/** The form a wallet POSTs to fetch a request object (`request_uri_method=post`, OpenID4VP §5.10). */
export class RequestObjectFormDto {
  @ApiProperty({ description: 'A fresh nonce of the wallet, echoed in the signed request object.', example: 'wn-123' })
  @Omittable()
  @IsString({ message: WALLET_NONCE_MESSAGE })
  @Matches(/^[\x21-\x7e]{1,256}$/, { message: WALLET_NONCE_MESSAGE })
  wallet_nonce?: string;

  @ApiProperty({ description: 'The wallet\'s capabilities (JSON); accepted and not used.' })
  @Omittable()
  @IsString()
  @MaxLength(65_536)
  wallet_metadata?: string;
}
