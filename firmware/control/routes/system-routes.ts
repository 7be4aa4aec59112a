/**
 * The rest of a router's settings (issue 17): the ports the upstream router must forward, DNS, time,
 * HTTPS for the management UI, the configuration's current warnings, an import's preview, traceroute
 * and reboot. Every change is one configuration transaction (applyOrThrow), its errors at their paths.
 */
import { isIP } from 'node:net';
import { diffConfigs } from '../../config/config-diff.ts';
import { portLabel, portsToOpen } from '../../config/ports-to-open.ts';
import type { PosternConfig } from '../../config/types.ts';
import { validateConfig } from '../../config/validate.ts';
import { ownValue } from '../../util/json-input.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest } from '../api-error.ts';
import type { Route } from '../router.ts';
import { MAX_HOPS } from '../traceroute.ts';
import { applyOrThrow, documentFromInput, restoreRedacted } from './config-routes.ts';
import { redactConfig } from '../../config/redact.ts';
import type { DynamicDnsConfig } from '../../config/types.ts';
import { FACTORY_RESET_CONFIRM } from '../../system/factory-reset.ts';
import { verifyPasswordAsync } from '../password-hash.ts';

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** A body that must be a JSON object. */
const objectBody = async (c: { body(): Promise<unknown> }, what: string): Promise<object> => {
  const body = await c.body();
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`send ${what} as a JSON object`);
  return body;
};

/** A list of strings from the body, refused at its field otherwise (the schema checks each entry). */
function stringList(body: object, key: string, field: string): string[] | undefined {
  const value = ownValue(body, key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw badRequest(`'${key}' must be a list of strings`, { field });
  return value.map((v: string) => v.trim()).filter((v) => v !== '');
}

const DDNS_DEFAULTS = { enabled: false, method: 'rfc2136', port: 53, ttl: 60 } as const;

const ports = (config: PosternConfig) => portsToOpen(config).map((p) => ({ ...p, label: portLabel(p) }));

export function systemRoutes(ctx: ApiContext): Route[] {
  const current = () => ctx.store.current().config;
  const interfaces = () => ctx.interfaces().map((i) => i.name);
  return [
    { method: 'GET', path: '/api/v1/ports-to-open', handler: () => ({ status: 200, body: { ports: ports(current()) } }) },
    // What validation warns about now (weak proposals, insecure listeners …), for pages to flag on load.
    { method: 'GET', path: '/api/v1/config/warnings', handler: () => ({ status: 200, body: { warnings: validateConfig(current(), { interfaces: interfaces() }).warnings } }) },
    { method: 'GET', path: '/api/v1/dns', handler: () => ({ status: 200, body: { servers: current().system.dns.servers } }) },
    {
      method: 'PUT', path: '/api/v1/dns',
      handler: async (c) => {
        const servers = stringList(await objectBody(c, '{servers: [...]}'), 'servers', 'system.dns.servers');
        const next = structuredClone(current());
        if (servers) next.system.dns.servers = servers;
        return { status: 200, body: await applyOrThrow(ctx, next, 'DNS servers changed') };
      },
    },
    {
      method: 'GET', path: '/api/v1/time',
      handler: () => {
        // Whether the system took them (the time subsystem's last apply), for the Time card.
        const time = (ctx.status()['subsystems'] as Record<string, { appliedTo?: string; detail?: string }> | undefined)?.['time'];
        const applied = time?.appliedTo ? { applied: { to: time.appliedTo, detail: time.detail } } : {};
        return { status: 200, body: { timezone: current().system.timezone, ntpServers: current().system.ntp?.servers ?? [], now: ctx.now(), ...applied } };
      },
    },
    {
      method: 'PUT', path: '/api/v1/time',
      handler: async (c) => {
        const body = await objectBody(c, '{timezone, ntpServers}');
        const next = structuredClone(current());
        const timezone = ownValue(body, 'timezone');
        if (timezone !== undefined) {
          if (typeof timezone !== 'string') throw badRequest("'timezone' must be a zone name like Europe/Berlin", { field: 'system.timezone' });
          next.system.timezone = timezone.trim();
        }
        const ntp = stringList(body, 'ntpServers', 'system.ntp.servers');
        if (ntp) next.system.ntp = { servers: ntp };
        if (ntp?.length === 0) delete next.system.ntp;
        return { status: 200, body: await applyOrThrow(ctx, next, 'time settings changed') };
      },
    },
    {
      // Dynamic DNS (issue 17): the settings with secrets redacted, and what the ddns subsystem last did.
      method: 'GET', path: '/api/v1/dynamic-dns',
      handler: () => {
        const subsystems = ctx.status()['subsystems'] as Record<string, unknown> | undefined;
        const status = subsystems?.['ddns'] as { state?: string; detail?: string } | undefined;
        // Redacted as a part of the whole document: the schema names its secrets by their place in it.
        const { system } = redactConfig({ system: { dynamicDns: { ...DDNS_DEFAULTS, ...current().system.dynamicDns } } }) as { system: { dynamicDns: unknown } };
        return { status: 200, body: { dynamicDns: system.dynamicDns, ...(status ? { status: { state: status.state, detail: status.detail } } : {}) } };
      },
    },
    {
      method: 'PUT', path: '/api/v1/dynamic-dns',
      handler: async (c) => {
        const body = ownValue(await objectBody(c, '{dynamicDns: {...}}'), 'dynamicDns');
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('send {dynamicDns: {...}}', { field: 'system.dynamicDns' });
        const next = structuredClone(current());
        const was = next.system.dynamicDns;
        // A field left empty is unset (and refused at its field when the method needs it); "<redacted>" keeps the secret.
        const merged = restoreRedacted({ ...DDNS_DEFAULTS, ...was, ...body }, was) as Record<string, unknown>;
        for (const [k, v] of Object.entries(merged)) if (v === '' || v === null) delete merged[k];
        next.system.dynamicDns = merged as unknown as DynamicDnsConfig;
        return { status: 200, body: await applyOrThrow(ctx, next, 'dynamic DNS settings changed') };
      },
    },
    {
      method: 'GET', path: '/api/v1/management',
      handler: () => {
        const { https, hsts, listen, port } = current().system.management;
        return { status: 200, body: { https, hsts: hsts === true, listen, port } };
      },
    },
    {
      method: 'PUT', path: '/api/v1/management',
      handler: async (c) => {
        const body = await objectBody(c, '{https, hsts?}');
        const https = ownValue(body, 'https');
        const hsts = ownValue(body, 'hsts');
        if (typeof https !== 'boolean') throw badRequest("'https' must be true or false", { field: 'system.management.https' });
        if (hsts !== undefined && typeof hsts !== 'boolean') throw badRequest("'hsts' must be true or false", { field: 'system.management.hsts' });
        const next = structuredClone(current());
        next.system.management.https = https;
        if (hsts === true) next.system.management.hsts = true;
        else if (hsts === false) delete next.system.management.hsts;
        return { status: 200, body: await applyOrThrow(ctx, next, `management ${https ? 'over HTTPS' : 'over plain HTTP'}`) };
      },
    },
    {
      // What an import would do, without doing it: the issues at their paths and each changed setting.
      method: 'POST', path: '/api/v1/config/import/preview',
      handler: async (c) => {
        const doc = ownValue(await objectBody(c, '{config}'), 'config');
        if (!doc || typeof doc !== 'object') throw badRequest("'config' must be a configuration document", { field: 'config' });
        const next = documentFromInput(doc, current());
        const checked = validateConfig(next, { interfaces: interfaces() });
        const errors = checked.ok ? [] : checked.errors;
        const warnings = checked.warnings;
        // The history's diff (secrets named, never shown).
        const changes = errors.length ? [] : diffConfigs(current(), next);
        return { status: 200, body: { valid: errors.length === 0, issues: errors, warnings, changes: changes.slice(0, 200), more: Math.max(0, changes.length - 200) } };
      },
    },
    {
      method: 'POST', path: '/api/v1/diagnostics/traceroute',
      handler: async (c) => {
        const body = await objectBody(c, '{host, maxHops}');
        const raw = ownValue(body, 'host');
        const host = typeof raw === 'string' ? raw.trim() : '';
        if (!isIP(host) && !HOSTNAME.test(host)) throw badRequest("'host' must be an IP address or a host name", { field: 'host' });
        const hops = ownValue(body, 'maxHops') === undefined ? 15 : Number(ownValue(body, 'maxHops'));
        if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS) throw badRequest(`'maxHops' must be 1 to ${MAX_HOPS}`, { field: 'maxHops' });
        if (!ctx.traceroute) throw new ApiError(503, ApiCode.unavailable, 'traceroute is not available here');
        return { status: 200, body: await ctx.traceroute(host, hops) };
      },
    },
    {
      // The page asks first; the API wants the same confirmation in the body so a stray POST does nothing.
      method: 'POST', path: '/api/v1/system/reboot',
      handler: async (c) => {
        if (ownValue(await objectBody(c, '{confirm: true}'), 'confirm') !== true) throw badRequest("send {confirm: true} to reboot", { field: 'confirm' });
        if (!ctx.reboot) throw new ApiError(503, ApiCode.unavailable, 'reboot is not available here');
        const { action } = ctx.reboot();
        ctx.logger.warn(action === 'reboot' ? 'reboot asked for by the administrator' : 'restart asked for by the administrator (not running as firmware: the service restarts)');
        return { status: 202, body: { action } };
      },
    },
    {
      // Issue 18: wipes configuration, keys, users and history. A logged-in session is not enough: the
      // admin password again (a session left open on a desk) and the words typed (not a stray click).
      method: 'POST', path: '/api/v1/system/factory-reset',
      handler: async (c) => {
        const body = await objectBody(c, `{password, confirm: '${FACTORY_RESET_CONFIRM}'}`);
        if (ownValue(body, 'confirm') !== FACTORY_RESET_CONFIRM) throw badRequest(`type '${FACTORY_RESET_CONFIRM}' in confirm to reset to factory state`, { field: 'confirm' });
        const password = ownValue(body, 'password');
        if (typeof password !== 'string') throw badRequest("'password' must be the admin password", { field: 'password' });
        if (!(await verifyPasswordAsync(password, ctx.store.current().config.admin.passwordHash))) {
          ctx.logger.warn('factory reset refused: wrong admin password');
          throw new ApiError(403, ApiCode.badCredentials, 'wrong admin password', { field: 'password' });
        }
        if (!ctx.factoryReset) throw new ApiError(503, ApiCode.unavailable, 'factory reset is not available here');
        ctx.factoryReset('administrator (API)');
        return { status: 202, body: { reset: true } };
      },
    },
  ];
}
