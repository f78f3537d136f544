import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface SessionClaims {
  /** Expiry, epoch seconds. */
  exp: number;
  /** Session id, for logs and revocation lists. */
  sid: string;
}

/**
 * Signs and verifies session tokens: base64url(claims).base64url(HMAC-SHA256(secret, claims)). Any instance with the
 * secret verifies.
 */
export class SessionTokens {
  constructor(
    private readonly secret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): { token: string; claims: SessionClaims } {
    const claims: SessionClaims = {
      // Rounded up: a token lives at least its TTL (rounding down cut up to a second off, all of a 1 s TTL).
      exp: Math.ceil(this.now() / 1000) + this.ttlSeconds,
      sid: randomBytes(12).toString('base64url'),
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${payload}.${this.sign(payload)}`, claims };
  }

  /** The claims of a valid, unexpired token, or undefined. */
  verify(token: string | undefined): SessionClaims | undefined {
    if (!token) return undefined;
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let claims: Partial<SessionClaims>;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<SessionClaims>;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number' || typeof claims.sid !== 'string') return undefined;
    if (claims.exp * 1000 <= this.now()) return undefined;
    return { exp: claims.exp, sid: claims.sid };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}
