/** First-boot setup, login, logout and the session's CSRF token. */
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError } from '../api-error.ts';
import { clientAddress, field, isString } from '../http-io.ts';
import type { LoginGuard, LoginOutcome } from '../login-guard.ts';
import { hashPasswordAsync, verifyPasswordAsync } from '../password-hash.ts';
import { passwordProblems } from '../password-rules.ts';
import type { Route } from '../router.ts';
import { withPublicIdentity } from '../../config/public-identity.ts';
import { identityFromBody, suggestPublicAddress } from './identity-routes.ts';
import { clearedSessionCookie, sessionCookie, type SessionStore } from '../sessions.ts';

/** The one account today; the limiter is keyed by name so that more can come. */
export const ADMIN_ACCOUNT = 'admin';

export function refusal(outcome: Extract<LoginOutcome, { status: 429 | 503 }>): ApiError {
  const headers = { 'Retry-After': String(outcome.retryAfterSeconds) };
  const details = { retryAfterSeconds: outcome.retryAfterSeconds, reason: outcome.why };
  if (outcome.status === 503) return new ApiError(503, ApiCode.unavailable, 'too many logins being checked; try again shortly', details, headers);
  const message = outcome.why === 'global-rate' ? 'too many logins right now; try again shortly' : 'too many failed logins; try again later';
  return new ApiError(429, ApiCode.lockedOut, message, details, headers);
}

export function authRoutes(ctx: ApiContext, sessions: SessionStore, guard: LoginGuard): Route[] {
  const config = () => ctx.store.current().config;
  const secure = (req: { socket: unknown }) => Boolean((req.socket as { encrypted?: boolean }).encrypted);
  return [
    {
      // The WAN's address is suggested as the public one only while setup is still to be done.
      method: 'GET', path: '/api/v1/setup', public: true,
      handler: () => {
        const needed = config().admin.passwordHash === null;
        const suggestion = needed ? suggestPublicAddress(config(), ctx.interfaces(), ctx.wanAddress?.()) : undefined;
        return { status: 200, body: { needed, ...(suggestion ? { suggestion } : {}) } };
      },
    },
    {
      // No default password: the first visitor sets it, once (then 409 forever); with it, optionally,
      // the public name and/or address every client profile will dial (issue 17).
      method: 'POST', path: '/api/v1/setup', public: true,
      handler: async (c) => {
        if (config().admin.passwordHash !== null) throw new ApiError(409, ApiCode.setupDone, 'the admin password is already set');
        const body = await c.body();
        const password = field(body, 'password', isString, 'a string');
        const problems = passwordProblems(password, { names: ['admin', config().system.hostname] });
        if (problems.length) throw new ApiError(422, ApiCode.weakPassword, 'the password does not meet the rules', { field: 'password', problems });
        const next = withPublicIdentity(config(), identityFromBody(body, config()));
        next.admin.passwordHash = await hashPasswordAsync(password);
        const result = await ctx.apply(next, { author: 'setup', comment: 'admin password set at first boot' });
        if (!result.ok && result.stage === 'validate') throw new ApiError(422, ApiCode.invalidConfig, 'the configuration is not valid', { issues: result.errors });
        if (!result.ok) throw new ApiError(500, ApiCode.applyFailed, 'could not store the password', { errors: result.errors });
        ctx.logger.info('admin password set (first-boot setup)', { from: clientAddress(c.req) });
        return { status: 201, body: { ok: true } };
      },
    },
    {
      method: 'POST', path: '/api/v1/login', public: true,
      handler: async (c) => {
        const from = clientAddress(c.req);
        const hash = config().admin.passwordHash;
        if (hash === null) throw new ApiError(409, ApiCode.setupRequired, 'set the admin password first (POST /api/v1/setup)');
        const password = field(await c.body(), 'password', isString, 'a string');
        const outcome = await guard.attempt(ADMIN_ACCOUNT, from, () => verifyPasswordAsync(password, hash));
        if (!outcome.ok) {
          // Only checked passwords are logged (at most the global rate); refusals before a check are counted.
          if (outcome.wrongPassword) ctx.logger.warn('admin login failed', { from });
          if (outcome.status === 401) throw new ApiError(401, ApiCode.badCredentials, 'wrong password');
          throw refusal(outcome);
        }
        const session = sessions.create();
        const minutes = config().admin.sessionTimeoutMinutes;
        ctx.logger.info('admin logged in', { from });
        return { status: 200, body: { csrfToken: session.csrf, sessionTimeoutMinutes: minutes }, headers: { 'Set-Cookie': sessionCookie(session, secure(c.req), minutes * 60) } };
      },
    },
    {
      method: 'POST', path: '/api/v1/logout',
      handler: (c) => {
        if (c.session) sessions.delete(c.session.id);
        return { status: 200, body: { ok: true }, headers: { 'Set-Cookie': clearedSessionCookie } };
      },
    },
    { method: 'GET', path: '/api/v1/session', handler: (c) => ({ status: 200, body: { csrfToken: c.session?.csrf, since: c.session?.created } }) },
  ];
}
