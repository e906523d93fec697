import { ApiProperty } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsString, MaxLength } from 'class-validator';
import {
  CLIENT_ASSERTION_TYPE,
  GRANT_REFRESH_TOKEN,
  GRANT_TOKEN_EXCHANGE,
  GRANT_VP_TOKEN,
  TOKEN_TYPE_ACCESS,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_VP,
} from './verifier-grants';

/** A presentation may be as large as a form field can be: the default `server.bodyLimitBytes`. */
const PRESENTATION_MAX = 1_048_576;
const URL_MAX = 2048;

/** One optional, single string parameter of at most `max` characters. */
function Param(max: number, doc: { description: string; example?: string; enum?: string[] }): PropertyDecorator {
  return (target, key) => {
    ApiProperty(doc)(target, key);
    Omittable()(target, key);
    IsString()(target, key);
    MaxLength(max)(target, key);
  };
}

/**
 * The token endpoint's form parameters (RFC 6749 §4.1.3 and §6, RFC 8693,
 * RFC 7523 client authentication, and the VCVerifier `vp_token` grant). Only
 * syntax and size are checked here; which parameters a grant needs and what
 * they must say, `TokenService.token` decides (`invalid_grant`,
 * `invalid_client`, `unsupported_grant_type`, ...). Unknown parameters are
 * ignored.
 */
export class TokenRequestDto {
  @Param(256, { description: 'The grant.', enum: ['authorization_code', GRANT_REFRESH_TOKEN, GRANT_VP_TOKEN, GRANT_TOKEN_EXCHANGE] })
  grant_type?: string;

  @Param(256, { description: '`authorization_code`: the code from the redirect.' })
  code?: string;

  @Param(URL_MAX, { description: '`authorization_code`: the `redirect_uri` of the authorization request, when it had one.', example: 'https://app.example/callback' })
  redirect_uri?: string;

  @Param(256, { description: '`authorization_code`: the PKCE code verifier, when the flow started with a `code_challenge`.' })
  code_verifier?: string;

  @Param(256, { description: '`refresh_token`: the refresh token (single use; each use returns a new one).' })
  refresh_token?: string;

  @Param(256, { description: 'The client (service) id; the path\'s service or the assertion\'s issuer otherwise.', example: 'shop' })
  client_id?: string;

  @Param(1000, { description: 'The scope (space separated; `openid` is ignored); the service\'s default scope when left out.', example: 'login' })
  scope?: string;

  @Param(PRESENTATION_MAX, { description: '`vp_token` grant: the presentation, with a key-binding JWT over a nonce from `POST /services/{serviceId}/nonce` and `aud` = the client id.' })
  vp_token?: string;

  @Param(65_536, { description: 'Presentation Exchange: the JSON presentation submission.' })
  presentation_submission?: string;

  @Param(PRESENTATION_MAX, { description: 'Token exchange: the presentation (as for `vp_token`).' })
  subject_token?: string;

  @Param(256, { description: 'Token exchange: the subject token\'s type.', enum: [TOKEN_TYPE_VP] })
  subject_token_type?: string;

  @Param(256, { description: 'Token exchange: what to issue (an access token by default).', enum: [TOKEN_TYPE_ACCESS, TOKEN_TYPE_JWT] })
  requested_token_type?: string;

  @Param(URL_MAX, { description: 'Token exchange: must be the client itself when given.' })
  audience?: string;

  @Param(65_536, { description: 'Token exchange: delegation is not supported; a request with an actor token is refused.' })
  actor_token?: string;

  @Param(256, { description: 'Token exchange: the actor token\'s type (not supported).' })
  actor_token_type?: string;

  @Param(256, { description: '`private_key_jwt` clients (RFC 7523).', enum: [CLIENT_ASSERTION_TYPE] })
  client_assertion_type?: string;

  // The grants check the assertion's own bound (16 KiB) and answer invalid_client, as RFC 7523 asks.
  @Param(65_536, { description: '`private_key_jwt` clients: a signed, single-use JWT with iss = sub = the client id and `aud` the token endpoint.' })
  client_assertion?: string;
}
