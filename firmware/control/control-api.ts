/**
 * The control API under /api/v1: one router, one gate. Every route but setup and login needs an admin
 * session; every change also needs the session's CSRF token and a same-origin Origin (when the browser
 * sends one). Errors are JSON with a stable code; anything unexpected is a 500 that is logged, never
 * a crash.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiContext } from './api-context.ts';
import { ApiCode, ApiError } from './api-error.ts';
import { cookies, readJson, sendFile, sendJson } from './http-io.ts';
import { LoginGuard, type LoginGuardOptions } from './login-guard.ts';
import { Router, type RequestContext } from './router.ts';
import { authRoutes } from './routes/auth-routes.ts';
import { configRoutes } from './routes/config-routes.ts';
import { identityRoutes } from './routes/identity-routes.ts';
import { objectRoutes } from './routes/object-routes.ts';
import { radiusRoutes } from './routes/radius-routes.ts';
import { pkiRoutes } from './routes/pki-routes.ts';
import { profileRoutes } from './routes/profile-routes.ts';
import { runtimeRoutes } from './routes/runtime-routes.ts';
import { problemRoutes } from './routes/problem-routes.ts';
import { systemRoutes } from './routes/system-routes.ts';
import { siteRoutes } from './routes/site-routes.ts';
import { logRoutes } from './routes/log-routes.ts';
import { historyRoutes } from './routes/history-routes.ts';
import { fleetRoutes } from './routes/fleet-routes.ts';
import { safeModeRoutes } from './routes/safe-mode-routes.ts';
import { withConfirmWithin } from './safe-mode-request.ts';
import { upgradeRoutes, type UpgradeHooks } from './routes/upgrade-routes.ts';
import { csrfMatches, SESSION_COOKIE, SessionStore } from './sessions.ts';

export class ControlApi {
  readonly router: Router;
  /** Firmware upgrades (issue 18), attached after start where this process can take them (firmware/upgrade/upgrade-boot.ts). */
  upgrades: UpgradeHooks | undefined;
  readonly sessions: SessionStore;
  readonly login: LoginGuard;
  /** `aborted`: the client went away mid-request (issue 15.9: counted and logged at debug, not a 500). */
  readonly counters = { requests: 0, refused: 0, errors: 0, aborted: 0 };
  readonly #ctx: ApiContext;

  constructor(ctx: ApiContext, options: { readonly login?: LoginGuardOptions } = {}) {
    this.#ctx = ctx;
    this.sessions = new SessionStore({ now: () => ctx.now() });
    this.login = new LoginGuard({ now: () => ctx.now(), ...options.login });
    this.router = new Router([...authRoutes(ctx, this.sessions, this.login), ...configRoutes(ctx, this.login), ...objectRoutes(ctx), ...radiusRoutes(ctx), ...runtimeRoutes(ctx), ...profileRoutes(ctx), ...pkiRoutes(ctx), ...identityRoutes(ctx), ...problemRoutes(ctx), ...systemRoutes(ctx), ...siteRoutes(ctx), ...logRoutes(ctx), ...historyRoutes(ctx), ...safeModeRoutes(ctx), ...fleetRoutes(ctx), ...upgradeRoutes(ctx, () => this.upgrades)]);
  }

  /** For /healthz and the MQTT status: the API's own counters and the login guard's (`login.…`). */
  statusCounters(): Record<string, number> {
    const login = Object.entries(this.login.counters).map(([k, v]) => [`login.${k}`, v] as const);
    return { ...this.counters, ...Object.fromEntries(login) };
  }

  /** For the web server: true when the request was an API request (answered here). */
  handles(path: string): boolean {
    return path === '/api' || path.startsWith('/api/');
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    try {
      await this.#dispatch(req, res);
    } catch (error) {
      if (aborted(req, error)) {
        // Nobody is left to answer: one debug line and a counter, not an error and a 500 per slow client.
        this.counters.aborted++;
        this.#ctx.logger.debug('API request aborted by the client', { method: req.method, path: (req.url ?? '').split('?')[0] });
        return void res.destroy();
      }
      if (res.headersSent) return void res.destroy();
      if (error instanceof ApiError) {
        this.counters.refused++;
        return sendJson(res, error.status, { error: { code: error.code, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}) } }, { ...error.headers });
      }
      this.counters.errors++;
      this.#ctx.logger.error('API request failed', { method: req.method, path: (req.url ?? '').split('?')[0], error: error instanceof Error ? error.message : String(error) });
      sendJson(res, 500, { error: { code: ApiCode.internal, message: 'internal error' } });
    }
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const match = this.router.match(method, url.pathname);
    if (!match) throw new ApiError(404, ApiCode.notFound, `no API route ${url.pathname}`);
    if ('allow' in match) throw new ApiError(405, ApiCode.methodNotAllowed, `${method} is not allowed here`, { allow: match.allow }, { Allow: match.allow.join(', ') });
    const changes = method !== 'GET';
    if (changes) this.#checkOrigin(req);
    const config = this.#ctx.store.current().config;
    const session = match.route.public ? undefined : this.sessions.find(cookies(req).get(SESSION_COOKIE), config.admin.sessionTimeoutMinutes * 60_000);
    if (!match.route.public) {
      if (!session) throw new ApiError(401, ApiCode.unauthenticated, config.admin.passwordHash === null ? 'set the admin password first (POST /api/v1/setup)' : 'log in first');
      if (changes && !csrfMatches(session, req.headers['x-csrf-token'])) throw new ApiError(403, ApiCode.csrf, 'missing or wrong X-CSRF-Token');
    }
    let body: Promise<unknown> | undefined;
    // Every body of this API is a JSON object; anything else is refused here, once.
    const object = async (): Promise<unknown> => {
      const value = await readJson(req);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ApiError(400, ApiCode.badRequest, 'send a JSON object');
      return value;
    };
    const c: RequestContext = { req, res, params: match.params, query: url.searchParams, session, body: () => (body ??= object()) };
    // ?confirmWithin=N: whatever this request applies is applied in safe mode (issue 17).
    const reply = await (changes ? withConfirmWithin(url.searchParams, () => match.route.handler(c)) : match.route.handler(c));
    if ('file' in reply) return sendFile(res, reply.file, reply.contentType, reply.filename);
    sendJson(res, reply.status, reply.body, reply.headers);
  }

  /** A browser always says where a request comes from: another site's page may not change anything. */
  #checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin === undefined) return; // not a browser (curl, the fleet console): the cookie and token rules still hold
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      throw new ApiError(403, ApiCode.forbiddenOrigin, 'malformed Origin');
    }
    if (host !== req.headers.host) throw new ApiError(403, ApiCode.forbiddenOrigin, `requests from ${origin} are not allowed`);
  }
}

/** The client closed the connection before its request was read (Node raises `aborted` / ECONNRESET on the body). */
function aborted(req: IncomingMessage, error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (req.destroyed && !req.complete) || code === 'ECONNRESET' || code === 'ECONNABORTED' || (error instanceof Error && error.message === 'aborted');
}
