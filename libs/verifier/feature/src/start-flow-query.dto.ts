import { ApiProperty } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsIn, IsString, Matches, MaxLength } from 'class-validator';

/** The `state` an application may round-trip (also checked by `PresentationService.start`, with the same answer). */
const STATE_MESSAGE = 'state must be 1-512 printable characters';
const URL_MAX = 2048;

/**
 * Query parameters that start a presentation flow (VCVerifier's
 * `/api/v1/loginQR`, `/api/v2/loginQR`, `/api/v1/startsiop`,
 * `/api/v1/samedevice`). All optional here: which ones a route needs, and
 * which values a service allows, `PresentationService` decides (`invalid_client`,
 * `invalid_scope`, ...). Unknown parameters are ignored.
 */
export class StartFlowQueryDto {
  @ApiProperty({ description: 'The relying-party service (the verifier\'s OAuth client); `default` when left out.', example: 'shop' })
  @Omittable()
  @IsString()
  @MaxLength(64)
  client_id?: string;

  @ApiProperty({ description: 'The scope (what to ask the wallet for), space separated; `openid` is ignored. The service\'s default scope when left out.', example: 'openid login' })
  @Omittable()
  @IsString()
  @MaxLength(1000)
  scope?: string;

  @ApiProperty({ description: 'How the wallet gets the authorization request.', enum: ['byReference', 'byValue', 'urlEncoded'], default: 'byReference' })
  @Omittable()
  @IsString()
  @MaxLength(32)
  request_mode?: string;

  @ApiProperty({ description: '`post`: the wallet fetches the request object with POST and its own `wallet_nonce` (needs `request_mode=byReference`).', enum: ['get', 'post'], default: 'get' })
  @Omittable()
  @IsString()
  @MaxLength(32)
  request_uri_method?: string;

  @ApiProperty({ description: 'How the wallet answers: in the clear, or encrypted to a key of this session (`direct_post.jwt`).', enum: ['direct_post', 'direct_post.jwt'], default: 'direct_post' })
  @Omittable()
  @IsString()
  @MaxLength(32)
  response_mode?: string;

  @ApiProperty({ description: 'Opaque application state, returned with the code.', example: 'app-state-1' })
  @Omittable()
  @IsString({ message: STATE_MESSAGE })
  @Matches(/^[\x21-\x7e]{1,512}$/, { message: STATE_MESSAGE })
  state?: string;

  @ApiProperty({ description: 'Where the browser goes with the code afterwards (VCVerifier v1 name of `redirect_uri`); must be registered when the service lists redirect URIs.', example: 'https://app.example/callback' })
  @Omittable()
  @IsString()
  @MaxLength(URL_MAX)
  client_callback?: string;

  @ApiProperty({ description: 'Where the browser goes with the code afterwards; used when `client_callback` is not given.', example: 'https://app.example/callback' })
  @Omittable()
  @IsString()
  @MaxLength(URL_MAX)
  redirect_uri?: string;

  @ApiProperty({ description: 'PKCE (RFC 7636): the base64url SHA-256 of the code verifier.', example: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' })
  @Omittable()
  @IsString()
  @MaxLength(128)
  code_challenge?: string;

  @ApiProperty({ description: 'PKCE method; only `S256`.', enum: ['S256'] })
  @Omittable()
  @IsString()
  @MaxLength(16)
  code_challenge_method?: string;
}

/** `GET /api/v1/qr`: a flow's QR code as an image. */
export class QrQueryDto extends StartFlowQueryDto {
  @ApiProperty({ description: 'The image format.', enum: ['png', 'svg'], default: 'svg' })
  @Omittable()
  @IsIn(['png', 'svg'], { message: 'format must be png or svg' })
  format?: 'png' | 'svg';
}

/** `GET /api/v1/authorization`: the OIDC-style authorization endpoint. */
export class AuthorizationQueryDto extends StartFlowQueryDto {
  @ApiProperty({ description: 'Only `code` (anything else is `unsupported_response_type`).', enum: ['code'] })
  @Omittable()
  @IsString()
  @MaxLength(64)
  response_type?: string;

  @ApiProperty({ description: '`same_device` redirects the browser straight to the wallet; otherwise the login page with a QR code.', enum: ['cross_device', 'same_device'] })
  @Omittable()
  @IsString()
  @MaxLength(32)
  flow?: string;
}
