/** First-boot setup, login, logout and the session's CSRF token. */
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError } from '../api-error.ts';
import { clientAddress, field, isString } from '../http-io.ts';
import type { LoginLimiter } from '../login-limiter.ts';
import { hashPassword, verifyPassword } from '../password-hash.ts';
import { passwordProblems } from '../password-rules.ts';
import type { Route } from '../router.ts';
import { clearedSessionCookie, sessionCookie, type SessionStore } from '../sessions.ts';

export function authRoutes(ctx: ApiContext, sessions: SessionStore, limiter: LoginLimiter): Route[] {
  const config = () => ctx.store.current().config;
  const secure = (req: { socket: unknown }) => Boolean((req.socket as { encrypted?: boolean }).encrypted);
  return [
    { method: 'GET', path: '/api/v1/setup', public: true, handler: () => ({ status: 200, body: { needed: config().admin.passwordHash === null } }) },
    {
      // No default password: the first visitor sets it, once (then 409 forever).
      method: 'POST', path: '/api/v1/setup', public: true,
      handler: async (c) => {
        if (config().admin.passwordHash !== null) throw new ApiError(409, ApiCode.setupDone, 'the admin password is already set');
        const password = field(await c.body(), 'password', isString, 'a string');
        const problems = passwordProblems(password, { names: ['admin', config().system.hostname] });
        if (problems.length) throw new ApiError(422, ApiCode.weakPassword, 'the password does not meet the rules', { problems });
        const next = structuredClone(config());
        next.admin.passwordHash = hashPassword(password);
        const result = await ctx.apply(next, { author: 'setup', comment: 'admin password set at first boot' });
        if (!result.ok) throw new ApiError(500, ApiCode.applyFailed, 'could not store the password', { errors: result.errors });
        ctx.logger.info('admin password set (first-boot setup)', { from: clientAddress(c.req) });
        return { status: 201, body: { ok: true } };
      },
    },
    {
      method: 'POST', path: '/api/v1/login', public: true,
      handler: async (c) => {
        const from = clientAddress(c.req);
        const verdict = limiter.check(from);
        if (!verdict.allowed) throw new ApiError(429, ApiCode.lockedOut, 'too many failed logins; try again later', { retryAfterSeconds: verdict.retryAfterSeconds }, { 'Retry-After': String(verdict.retryAfterSeconds) });
        const hash = config().admin.passwordHash;
        if (hash === null) throw new ApiError(409, ApiCode.setupRequired, 'set the admin password first (POST /api/v1/setup)');
        const password = field(await c.body(), 'password', isString, 'a string');
        if (!verifyPassword(password, hash)) {
          limiter.failure(from);
          ctx.logger.warn('admin login failed', { from });
          throw new ApiError(401, ApiCode.badCredentials, 'wrong password');
        }
        limiter.success(from);
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
