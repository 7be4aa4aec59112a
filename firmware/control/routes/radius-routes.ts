/**
 * The RADIUS page's API (issue 21): servers with their live state and counters, the accounting
 * backlog, dynamic-authorization clients; servers and DAS clients added, changed and removed (each
 * one configuration transaction, errors at their field: `radius.servers[i].secret`), the Test
 * (Status-Server and an optional PAP login). Secrets are write-only: shown as "<redacted>", and a
 * change that sends none (or "<redacted>") keeps the stored one.
 */
import type { PosternConfig, RadiusConfig } from '../../config/types.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest, notFound } from '../api-error.ts';
import type { Route } from '../router.ts';
import { applyOrThrow } from './config-routes.ts';

type Named = { name: string; secret?: string };
type ListKey = 'servers' | 'clients';

const radiusOf = (c: PosternConfig): RadiusConfig => (c.radius ??= { servers: [] });
const listOf = (c: PosternConfig, key: ListKey): Named[] => {
  const r = radiusOf(c);
  if (key === 'servers') return r.servers;
  return (r.dynamicAuthorization ??= { enabled: false, port: 3799, clients: [] }).clients;
};

function asObject(body: unknown, what: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`send the ${what} as a JSON object`);
  return body as Record<string, unknown>;
}

/** Optional numbers a form may empty: "" or null removes them (the default applies again). */
const CLEARABLE = new Set(['timeoutSeconds', 'retries']);

/** Only the fields the item has; a secret left empty or "<redacted>" keeps the stored one. */
function itemFrom(body: Record<string, unknown>, fields: readonly string[], previous: Named | undefined): Named {
  const item: Record<string, unknown> = { ...(previous ?? {}) };
  for (const f of fields) {
    if (!Object.hasOwn(body, f)) continue;
    if (CLEARABLE.has(f) && (body[f] === '' || body[f] === null)) delete item[f];
    else item[f] = body[f];
  }
  if (previous && (body['secret'] === undefined || body['secret'] === '' || body['secret'] === '<redacted>')) item['secret'] = previous.secret;
  // RadSec: an imported client certificate and key stay unless the change sends new ones; null turns RadSec off.
  const radsec = body['radsec'];
  const kept = (previous as { radsec?: { clientCertificate?: string; clientKey?: string } } | undefined)?.radsec;
  if (radsec === null) delete item['radsec'];
  else if (radsec && typeof radsec === 'object' && kept?.clientKey !== undefined && (radsec as Record<string, unknown>)['clientKey'] === undefined) {
    item['radsec'] = { ...radsec, clientCertificate: kept.clientCertificate, clientKey: kept.clientKey };
  }
  return item as Named;
}

function listRoutes(ctx: ApiContext, key: ListKey, path: string, what: string, fields: readonly string[]): Route[] {
  const base = `/api/v1/radius/${path}`;
  const config = () => structuredClone(ctx.store.current().config);
  return [
    {
      method: 'POST', path: base,
      handler: async (c) => {
        const next = config();
        const item = itemFrom(asObject(await c.body(), what), fields, undefined);
        if (typeof item.name !== 'string' || !item.name) throw badRequest(`a ${what} needs a name`, { field: 'name' });
        const list = listOf(next, key);
        if (list.some((i) => i.name === item.name)) throw new ApiError(409, ApiCode.conflict, `${what} '${item.name}' exists`, { field: 'name' });
        list.push(item);
        return { status: 201, body: await applyOrThrow(ctx, next, `RADIUS ${what} '${item.name}' added`) };
      },
    },
    {
      method: 'PUT', path: `${base}/:name`,
      handler: async (c) => {
        const next = config();
        const list = listOf(next, key);
        const at = list.findIndex((i) => i.name === c.params['name']);
        if (at < 0) throw notFound(`${what} '${c.params['name']}'`);
        list[at] = { ...itemFrom(asObject(await c.body(), what), fields, list[at]), name: list[at]!.name };
        return { status: 200, body: await applyOrThrow(ctx, next, `RADIUS ${what} '${c.params['name']}' changed`) };
      },
    },
    {
      method: 'DELETE', path: `${base}/:name`,
      handler: async (c) => {
        const next = config();
        const list = listOf(next, key);
        const at = list.findIndex((i) => i.name === c.params['name']);
        if (at < 0) throw notFound(`${what} '${c.params['name']}'`);
        list.splice(at, 1);
        return { status: 200, body: await applyOrThrow(ctx, next, `RADIUS ${what} '${c.params['name']}' removed`) };
      },
    },
  ];
}

export function radiusRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET', path: '/api/v1/radius',
      handler: () => {
        if (!ctx.radius) throw notFound('RADIUS status');
        return { status: 200, body: ctx.radius() };
      },
    },
    {
      // NAS-Identifier, NAS-IP-Address and dynamic authorization's switch, address and port.
      method: 'PUT', path: '/api/v1/radius',
      handler: async (c) => {
        const body = asObject(await c.body(), 'RADIUS settings');
        const next = structuredClone(ctx.store.current().config);
        const r = radiusOf(next);
        for (const key of ['nasIdentifier', 'nasIpAddress'] as const) {
          if (!Object.hasOwn(body, key)) continue;
          if (body[key] === '' || body[key] === null) delete r[key];
          else r[key] = body[key] as string;
        }
        const das = body['dynamicAuthorization'];
        if (das !== undefined) {
          const d = asObject(das, 'dynamic authorization settings');
          const current = r.dynamicAuthorization ?? { enabled: false, port: 3799, clients: [] };
          const updated = { ...current, ...(Object.hasOwn(d, 'enabled') ? { enabled: d['enabled'] as boolean } : {}), ...(Object.hasOwn(d, 'port') ? { port: d['port'] as number } : {}) };
          if (Object.hasOwn(d, 'listen')) {
            if (d['listen'] === '' || d['listen'] === null) delete (updated as { listen?: string }).listen;
            else (updated as { listen?: string }).listen = d['listen'] as string;
          }
          r.dynamicAuthorization = updated;
        }
        return { status: 200, body: await applyOrThrow(ctx, next, 'RADIUS settings changed') };
      },
    },
    ...listRoutes(ctx, 'servers', 'servers', 'server', ['name', 'address', 'authPort', 'acctPort', 'secret', 'radsec', 'timeoutSeconds', 'retries']),
    ...listRoutes(ctx, 'clients', 'das-clients', 'DAS client', ['name', 'address', 'secret']),
    {
      method: 'POST', path: '/api/v1/radius/servers/:name/test',
      handler: async (c) => {
        if (!ctx.testRadius) throw notFound('RADIUS test');
        const body = asObject((await c.body()) ?? {}, 'test');
        const user = typeof body['user'] === 'string' ? body['user'].trim() : '';
        const password = typeof body['password'] === 'string' ? body['password'] : '';
        if (user && !password) throw badRequest('a test login needs the password too', { field: 'password' });
        if (user.length > 253) throw badRequest('the user name is over 253 bytes', { field: 'user' });
        if (Buffer.byteLength(password) > 128) throw badRequest('RADIUS carries passwords of 128 bytes at most', { field: 'password' });
        const result = await ctx.testRadius(c.params['name'] ?? '', user ? { user, password } : undefined);
        if (!result) throw notFound(`server '${c.params['name']}'`);
        ctx.logger.info('RADIUS server tested', { server: result.server, statusServer: result.statusServer.outcome, ...(result.login ? { login: result.login.outcome, user } : {}) });
        return { status: 200, body: result };
      },
    },
  ];
}
