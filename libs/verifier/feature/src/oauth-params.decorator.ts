import { createParamDecorator, type ExecutionContext, type Type } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiQuery, DECORATORS } from '@nestjs/swagger';
import { describeDtoValidation } from '@wallet/platform';
import { getMetadataStorage, validateSync } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import { OAuthError } from './oauth-error';

/**
 * The parameter names a DTO class declares (its class-validator properties,
 * inherited ones included).
 */
function declaredNames(dto: Type<unknown>): string[] {
  return [...new Set(getMetadataStorage().getTargetValidationMetadatas(dto, '', false, false).map((m) => m.propertyName))];
}

/**
 * Reads OAuth / OpenID4VP request parameters (a query string or a form body)
 * into an instance of `dto` and validates it with its class-validator
 * decorators, the OAuth way:
 *
 * - `required` is the `invalid_request` description when there is no form at
 *   all; without it a missing body counts as no parameters;
 * - unknown parameters are ignored (RFC 6749 §3.1 and §3.2: "MUST ignore
 *   unrecognized request parameters"; wallets send `wallet_metadata`, relying
 *   parties extra OIDC parameters), so only the declared ones are copied, and
 *   nothing else of the input is walked;
 * - a failure is an `OAuthError` `invalid_request` (400) whose description is
 *   the first failed constraint's message ("state must be a string"), never
 *   the value sent; a parameter sent twice (an array) fails its `@IsString()`
 *   (RFC 6749 §3.1: parameters "MUST NOT be included more than once").
 *
 * The DTOs hold only syntax and size bounds; what the protocol decides (an
 * unknown client, an unsupported response type, a bad grant) stays in
 * `PresentationService` or `TokenService`, which answers it with its own OAuth error code.
 */
export function parseOAuthParams<T extends object>(dto: Type<T>, input: unknown, required?: string): T {
  // Without a required description, no body at all is no parameters (every field of such a DTO is optional).
  if (input === undefined && required === undefined) return parseOAuthParams(dto, {});
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new OAuthError(400, 'invalid_request', required ?? 'the request must be form encoded');
  const source = input as Record<string, unknown>;
  const params = new dto();
  for (const name of declaredNames(dto)) {
    if (Object.prototype.hasOwnProperty.call(source, name) && source[name] !== undefined) (params as Record<string, unknown>)[name] = source[name];
  }
  const [failure] = validateSync(params, { forbidUnknownValues: true, validationError: { target: false, value: false } });
  if (failure) {
    const constraints = failure.constraints ?? {};
    const message = constraints['isString'] ?? Object.values(constraints)[0] ?? `${failure.property} is invalid`;
    throw new OAuthError(400, 'invalid_request', message.slice(0, 200));
  }
  return params;
}

type Source = 'query' | 'body';

const readParams = createParamDecorator((source: Source, context: ExecutionContext): unknown => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  return source === 'query' ? request.query : request.body;
});

/**
 * Route argument: the query string (`@OAuthQuery(AuthorizationQueryDto)`) or
 * the form body (`@OAuthForm(TokenRequestDto)`) parsed by `parseOAuthParams`,
 * and documented in the OpenAPI document from the DTO's `@ApiProperty`s. A
 * custom parameter (not `@Query()` / `@Body()`), so the global
 * `WalletValidationPipe` with its problem+json answers and its refusal of
 * unknown fields leaves it alone.
 */
function oauthParams(source: Source, dto: Type<object>, required?: string): ParameterDecorator {
  // The document builder describes only @Query()/@Body() DTOs: copy the constraints into the
  // @ApiProperty metadata here, and refuse a validated parameter that the document would miss.
  const undocumented = describeDtoValidation([dto]);
  if (undocumented.length > 0) throw new Error(`validated but without @ApiProperty: ${undocumented.join(', ')}`);
  const argument = readParams(source, { transform: (value: unknown) => parseOAuthParams(dto, value, required) });
  return (target, key, index) => {
    argument(target, key, index);
    if (key === undefined) return;
    const descriptor = Object.getOwnPropertyDescriptor(target, key) as PropertyDescriptor;
    if (source === 'query') {
      // One parameter per property, from its @ApiProperty metadata (@nestjs/swagger drops `enum`
      // when it spreads a class given to @ApiQuery into parameters).
      const names = ((Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, dto.prototype) as string[] | undefined) ?? []).map((k) => k.slice(1));
      for (const name of names) {
        const { required: needed, description, ...schema } = Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES, dto.prototype, name) as Record<string, unknown>;
        ApiQuery({ name, required: needed === true, ...(typeof description === 'string' ? { description } : {}), schema })(target, key, descriptor);
      }
    } else {
      ApiConsumes('application/x-www-form-urlencoded', 'application/json')(target, key, descriptor);
      ApiBody({ type: dto, required: required !== undefined })(target, key, descriptor);
    }
  };
}

/** The route's query parameters as `dto` (see `parseOAuthParams`). */
export const OAuthQuery = (dto: Type<object>): ParameterDecorator => oauthParams('query', dto);

/**
 * The route's form body as `dto` (see `parseOAuthParams`). With `required`
 * (the description of the `invalid_request` answer) the body must be there;
 * without it a request without a body has no parameters.
 */
export const OAuthForm = (dto: Type<object>, required?: string): ParameterDecorator => oauthParams('body', dto, required);
