/** What is happening now: status, VPN sessions (list, disconnect), the log tail, a bounded ping. */
import { isIP } from 'node:net';
import type { ApiContext } from '../api-context.ts';
import { badRequest, notFound } from '../api-error.ts';
import type { Route } from '../router.ts';
import { applyOrThrow } from './config-routes.ts';

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const LEVELS = ['debug', 'info', 'warn', 'error'];

export function runtimeRoutes(ctx: ApiContext): Route[] {
  return [
    { method: 'GET', path: '/api/v1/status', handler: () => ({ status: 200, body: ctx.status() }) },
    {
      // What the box has, with the WAN and LAN roles marked as the listeners use them (firmware/network:
      // the configuration's names, or the board's / the default route's when the configured one is absent).
      method: 'GET', path: '/api/v1/interfaces',
      handler: () => {
        const { wan, lan } = ctx.store.current().config.system;
        const roles = ctx.interfaceRoles?.() ?? { wan: wan.interface, lan: lan.interface };
        return { status: 200, body: { interfaces: ctx.interfaces().map((i) => ({ ...i, role: i.name === roles.wan ? 'wan' : i.name === roles.lan ? 'lan' : undefined })), wan, lan } };
      },
    },
    {
      // WAN and LAN in one transaction (the Settings form): both saved, or neither (issue 17).
      method: 'PUT', path: '/api/v1/interfaces',
      handler: async (c) => {
        const next = structuredClone(ctx.store.current().config);
        const body = (await c.body()) as Record<string, unknown>;
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('send {wan: {...}, lan: {...}}');
        for (const role of ['wan', 'lan'] as const) {
          const part = Object.hasOwn(body, role) ? body[role] : undefined;
          if (part === undefined) continue;
          if (!part || typeof part !== 'object' || Array.isArray(part)) throw badRequest(`'${role}' must be an object`, { field: `system.${role}` });
          // Spread, not Object.assign: own properties as they are (issue 15.6).
          (next.system as unknown as Record<string, unknown>)[role] = { ...next.system[role], ...part };
        }
        return { status: 200, body: await applyOrThrow(ctx, next, 'WAN and LAN changed') };
      },
    },
    {
      method: 'PUT', path: '/api/v1/interfaces/:role',
      handler: async (c) => {
        const role = c.params['role'];
        if (role !== 'wan' && role !== 'lan') throw notFound(`interface role '${role}'`);
        const next = structuredClone(ctx.store.current().config);
        // A spread copies own properties as they are: Object.assign would run the "__proto__" setter and
        // swap the section's prototype, so validation saw inherited values the stored JSON lacks (issue 15.6).
        const merged: unknown = { ...next.system[role], ...(await c.body() as object) };
        (next.system as unknown as Record<string, unknown>)[role] = merged;
        return { status: 200, body: await applyOrThrow(ctx, next, `${role} interface changed`) };
      },
    },
    { method: 'GET', path: '/api/v1/sessions', handler: () => ({ status: 200, body: { sessions: ctx.sessions() } }) },
    {
      method: 'DELETE', path: '/api/v1/sessions/:id',
      handler: (c) => {
        if (!ctx.disconnect(c.params['id'] ?? '')) throw notFound(`session '${c.params['id']}'`);
        ctx.logger.info('session disconnected by the administrator', { session: c.params['id'] });
        return { status: 200, body: { ok: true } };
      },
    },
    {
      // ?level=warn (that and above) &sub=sstp &q=text &limit=200
      method: 'GET', path: '/api/v1/logs',
      handler: (c) => {
        const level = c.query.get('level');
        const min = level && LEVELS.includes(level) ? LEVELS.indexOf(level) : 0;
        const sub = c.query.get('sub');
        const q = c.query.get('q')?.toLowerCase();
        const limit = Math.min(1000, Math.max(1, Number(c.query.get('limit') ?? 200) || 200));
        const records = ctx.logs().filter((r) => LEVELS.indexOf(r.level) >= min && (!sub || r.sub === sub) && (!q || JSON.stringify(r).toLowerCase().includes(q)));
        return { status: 200, body: { records: records.slice(-limit) } };
      },
    },
    {
      method: 'POST', path: '/api/v1/diagnostics/ping',
      handler: async (c) => {
        const body = (await c.body()) as { host?: unknown; count?: unknown };
        const host = typeof body.host === 'string' ? body.host.trim() : '';
        if (!isIP(host) && !HOSTNAME.test(host)) throw badRequest("'host' must be an IP address or a host name", { field: 'host' });
        const count = body.count === undefined ? 3 : Number(body.count);
        if (!Number.isInteger(count) || count < 1 || count > 5) throw badRequest("'count' must be 1 to 5", { field: 'count' });
        return { status: 200, body: await ctx.ping(host, count) };
      },
    },
  ];
}
