/**
 * Bearer tokens for the HTTP API. `token` reads the API (and sees patient identifiers of bound
 * devices); `adminToken` can also read dead letters' raw bytes. Tokens are compared in constant
 * time: both sides are hashed to equal-length SHA-256 digests and compared with timingSafeEqual,
 * against every configured token, so neither the length nor which token matched leaks in timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** open: no token configured (nothing sensitive shown); read: `token`; admin: `adminToken`. */
export type Access = 'open' | 'read' | 'admin';

export type AuthResult = { readonly ok: true; readonly access: Access } | { readonly ok: false; readonly reason: 'missing' | 'invalid' };

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function createAuthenticator(tokens: { token?: string | undefined; adminToken?: string | undefined }) {
  const read = tokens.token === undefined ? undefined : digest(tokens.token);
  const admin = tokens.adminToken === undefined ? undefined : digest(tokens.adminToken);
  const enabled = read !== undefined || admin !== undefined;
  return {
    /** False when no token is configured: the API is open. */
    enabled,
    authenticate(authorization: string | undefined): AuthResult {
      if (!enabled) return { ok: true, access: 'open' };
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
      if (match?.[1] === undefined) return { ok: false, reason: 'missing' };
      const presented = digest(match[1]);
      // Compare against both, always, so timing does not tell which one (if any) matched.
      const isAdmin = admin !== undefined && timingSafeEqual(presented, admin);
      const isRead = read !== undefined && timingSafeEqual(presented, read);
      if (isAdmin) return { ok: true, access: 'admin' };
      if (isRead) return { ok: true, access: 'read' };
      return { ok: false, reason: 'invalid' };
    },
  };
}
