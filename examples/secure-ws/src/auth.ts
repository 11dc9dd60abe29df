import type { IncomingMessage } from 'node:http';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';

export interface Caller extends JWTPayload {
  sub: string;
  scope: string;
}

export const ISSUER = 'https://auth.example.test';
export const AUDIENCE = 'accounts-service';

/**
 * The upgrade hook: verifies `Authorization: Bearer <JWT>` (signature, issuer, audience, expiry)
 * and returns the caller's claims, which handlers read from `WsContext#getAuth()`. Returning
 * false refuses the connection with HTTP 401 before any WebSocket opens.
 * (With an identity provider, use `createRemoteJWKSet(new URL(jwksUri))` instead of a secret.)
 */
export function jwtAuthenticator(secret: Uint8Array) {
  return async (request: IncomingMessage): Promise<Caller | false> => {
    const token = request.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    if (!token) return false;
    try {
      const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      return typeof payload.sub === 'string' && typeof payload.scope === 'string' ? (payload as Caller) : false;
    } catch {
      return false;
    }
  };
}

/** Issues a token as the identity provider would (for the demo and the tests). */
export function issueToken(secret: Uint8Array, sub: string, scope: string, expiresIn = '10m'): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(secret);
}
