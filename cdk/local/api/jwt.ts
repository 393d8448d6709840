// The JWT authorizer of HTTP APIs, step by step as API Gateway documents it: the token from
// the identity source (bare or "Bearer <token>"); an RSA signature by a key of the issuer's
// JWKS, the kid naming it; iss equal to the configured issuer; aud (or client_id when there is
// no aud) one of the configured audiences; exp, nbf, iat against the clock; one of the route's
// scopes if it has any. Failures answer 401 (403 for scopes) with a www-authenticate header.
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import type { JwtAuthorizerConfig } from './routes.js';

/** API Gateway accepts only RSA signatures. */
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

export interface JwtContext {
  claims: Record<string, string>;
  scopes: string[] | null;
}

export type AuthorizeResult =
  | { ok: true; jwt: JwtContext }
  | { ok: false; statusCode: 401 | 403; message: string; wwwAuthenticate: string };

export class JwtAuthorizer {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    readonly config: JwtAuthorizerConfig,
    jwksUrl: string,
  ) {
    this.jwks = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 1000, cacheMaxAge: 5 * 60_000 });
  }

  async authorize(headers: Record<string, string>, routeScopes: string[]): Promise<AuthorizeResult> {
    const scope = routeScopes.join(' ');
    const deny = (description: string): AuthorizeResult => ({
      ok: false,
      statusCode: 401,
      message: 'Unauthorized',
      wwwAuthenticate: `Bearer scope="${scope}" error="invalid_token" error_description="${description}"`,
    });
    const raw = headers[this.config.header]?.trim();
    if (!raw) return { ok: false, statusCode: 401, message: 'Unauthorized', wwwAuthenticate: 'Bearer' };
    const token = raw.replace(/^Bearer\s+/i, '');

    let alg: string | undefined;
    let kid: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
    } catch {
      return deny('the token is malformed');
    }
    if (!alg || !RSA_ALGORITHMS.includes(alg)) return deny(`signing method ${alg ?? 'none'} is invalid`);
    if (!kid) return deny('the token has no kid');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        algorithms: RSA_ALGORITHMS,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      return deny(describe(error));
    }
    if (payload.iss !== this.config.issuer) return deny('the token does not have a valid issuer');
    if (!hasValidAudience(payload, this.config.audience))
      return deny('the token does not have a valid audience');
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000)) {
      return deny('the token was issued in the future');
    }
    const scopes = tokenScopes(payload);
    if (routeScopes.length > 0 && !routeScopes.some((s) => scopes?.includes(s))) {
      return {
        ok: false,
        statusCode: 403,
        message: 'Forbidden',
        wwwAuthenticate: `Bearer scope="${scope}" error="insufficient_scope" error_description="expected scopes: [${scope}]"`,
      };
    }
    return { ok: true, jwt: { claims: stringifyClaims(payload), scopes } };
  }
}

/** aud when present, else client_id (Cognito access tokens), must be one of the audiences. */
export function hasValidAudience(payload: JWTPayload, audience: string[]): boolean {
  if (payload.aud !== undefined) {
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return auds.some((a) => audience.includes(a));
  }
  return typeof payload.client_id === 'string' && audience.includes(payload.client_id);
}

function tokenScopes(payload: JWTPayload): string[] | null {
  const value = payload.scope ?? payload.scp;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return null;
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'nbf'
      ? 'the token is not valid yet'
      : `the token has an invalid ${error.claim} claim`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key in the issuer JWKS matches the token kid';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
    return 'the issuer JWKS could not be fetched';
  }
  return 'the token is invalid';
}

/**
 * Claims as API Gateway hands them to the function: every value a string; arrays as "[a b]",
 * objects as "map[k:v]" (Go's formatting, which is what API Gateway emits).
 */
export function stringifyClaims(payload: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload)) out[key] = claimString(value);
  return out;
}

export function claimString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(claimString).join(' ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `map[${entries.map(([k, v]) => `${k}:${claimString(v)}`).join(' ')}]`;
  }
  return String(value);
}
