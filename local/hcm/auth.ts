import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { SimHttpError } from './http.ts';

export interface VerifierOptions {
  jwksUrl: string;
  issuer?: string;
  audience?: string;
  /** Leeway for exp/nbf/iat, seconds. Default 0: the simulator is strict so clients must refresh early. */
  clockToleranceSeconds?: number;
}

export interface Caller {
  /** Rate-limit key: the token's client_id (IDCS puts it in every access token), else sub. */
  clientId: string;
  claims: JWTPayload;
}

export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'too_old';

/** 401 with the RFC 6750 challenge; the body never echoes the token. */
export class UnauthorizedError extends SimHttpError {
  constructor(
    readonly reason: AuthFailure,
    description: string,
  ) {
    super(401, [{ detail: description, code: reason === 'missing' ? 'MISSING_TOKEN' : 'INVALID_TOKEN' }], {
      'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description}"`,
    });
  }
}

/** Validates `Authorization: Bearer` access tokens against the IdP's JWKS, as Fusion does with IDCS. */
export class TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly options: VerifierOptions) {
    // A short cooldown lets a rotated IdP key be picked up quickly after a kid miss.
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: 1_000,
      timeoutDuration: 5_000,
    });
  }

  async verify(
    authorization: string | undefined,
    maxAgeSeconds: number | null,
    nowMs = Date.now(),
  ): Promise<Caller> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match)
      throw new UnauthorizedError('missing', 'An access token is required (Authorization: Bearer).');
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(match[1]!, this.jwks, {
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience ? { audience: this.options.audience } : {}),
        clockTolerance: this.options.clockToleranceSeconds ?? 0,
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      throw classify(err);
    }
    if (maxAgeSeconds !== null) {
      const ageSeconds =
        typeof claims.iat === 'number' ? nowMs / 1000 - claims.iat : Number.POSITIVE_INFINITY;
      if (ageSeconds > maxAgeSeconds) {
        throw new UnauthorizedError(
          'too_old',
          'The access token is no longer accepted: the session has timed out.',
        );
      }
    }
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : (claims.sub ?? 'anonymous');
    return { clientId, claims };
  }
}

function classify(err: unknown): SimHttpError {
  if (err instanceof errors.JWTExpired)
    return new UnauthorizedError('expired', 'The access token has expired.');
  if (
    !(err instanceof errors.JOSEError) ||
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid
  ) {
    // The identity provider (its JWKS) is unreachable: not the caller's fault, so not a 401.
    return new SimHttpError(503, 'The identity provider is unavailable; try again later.', {
      'Retry-After': '1',
    });
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new UnauthorizedError(
      'invalid',
      `The access token is not valid: ${err.claim} claim check failed.`,
    );
  }
  return new UnauthorizedError('invalid', 'The access token is not valid: signature or format check failed.');
}
