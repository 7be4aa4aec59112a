/**
 * The named lists of the configuration (users, pools, sites) and its single sections (listeners,
 * telemetry) as API objects. Every change is one configuration transaction: the whole document is
 * validated, applied, committed or rolled back (config-routes.ts applyOrThrow).
 */
import { redactConfig } from '../../config/redact.ts';
import type { ListenerName, PosternConfig, TrustedCaConfig, UserConfig } from '../../config/types.ts';
import { describeCertificate } from '../../pki/inspect.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest, notFound } from '../api-error.ts';
import { storedUser } from '../../config/users.ts';
import { passwordProblems } from '../password-rules.ts';
import type { Route } from '../router.ts';
import { applyOrThrow, restoreRedacted } from './config-routes.ts';
import { revokeUserCertificates } from '../../pki/user-certificates-revoke.ts';

type Named = { name: string };

interface NamedList<T extends Named> {
  readonly path: string;
  readonly what: string;
  /** The list in a working copy of the configuration, created there when absent. */
  readonly list: (c: PosternConfig) => T[];
  /** The list as it is, for reads (never creating it); `list` when that never writes. */
  readonly view?: (c: PosternConfig) => readonly T[];
  readonly show: (item: T) => unknown;
  /** Drops what `show` adds for display (live state) when a shown item is sent back. */
  readonly clean?: (item: T) => T;
  /** Checks beyond the schema's (password rules); throws ApiErrors. */
  readonly check?: (item: T, previous: T | undefined, config: PosternConfig) => void;
  /** What is stored for a checked item (a user's password becomes its NT hash). */
  readonly toStored?: (item: T, previous: T | undefined) => T;
  /** After an item was removed and the change applied (a user's certificates revoked). */
  readonly removed?: (name: string) => void;
}

function namedListRoutes<T extends Named>(ctx: ApiContext, spec: NamedList<T>): Route[] {
  const base = `/api/v1/${spec.path}`;
  const config = () => structuredClone(ctx.store.current().config);
  // Reads look at the stored document itself (no copy per request); `show` builds new objects.
  const current = (): readonly T[] => (spec.view ?? spec.list)(ctx.store.current().config);
  const asItem = (body: unknown): T => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`send the ${spec.what} as a JSON object`);
    return spec.clean ? spec.clean(body as T) : (body as T);
  };
  return [
    { method: 'GET', path: base, handler: () => ({ status: 200, body: { [spec.path]: current().map(spec.show) } }) },
    {
      method: 'GET', path: `${base}/:name`,
      handler: (c) => {
        const item = current().find((i) => i.name === c.params['name']);
        if (!item) throw notFound(`${spec.what} '${c.params['name']}'`);
        return { status: 200, body: spec.show(item) };
      },
    },
    {
      method: 'POST', path: base,
      handler: async (c) => {
        const next = config();
        const item = asItem(await c.body());
        if (typeof item.name !== 'string' || !item.name) throw badRequest(`a ${spec.what} needs a name`);
        if (spec.list(next).some((i) => i.name === item.name)) throw new ApiError(409, ApiCode.conflict, `${spec.what} '${item.name}' exists`);
        spec.check?.(item, undefined, next);
        const stored = spec.toStored ? spec.toStored(item, undefined) : item;
        spec.list(next).push(stored);
        const applied = await applyOrThrow(ctx, next, `${spec.what} '${item.name}' added`);
        return { status: 201, body: { ...applied, [spec.what]: spec.show(stored) } };
      },
    },
    {
      method: 'PUT', path: `${base}/:name`,
      handler: async (c) => {
        const next = config();
        const list = spec.list(next);
        const at = list.findIndex((i) => i.name === c.params['name']);
        if (at < 0) throw notFound(`${spec.what} '${c.params['name']}'`);
        const previous = list[at]!;
        const item = restoreRedacted({ ...asItem(await c.body()), name: previous.name }, previous) as T;
        spec.check?.(item, previous, next);
        const stored = spec.toStored ? spec.toStored(item, previous) : item;
        list[at] = stored;
        return { status: 200, body: { ...(await applyOrThrow(ctx, next, `${spec.what} '${previous.name}' changed`)), [spec.what]: spec.show(stored) } };
      },
    },
    {
      method: 'DELETE', path: `${base}/:name`,
      handler: async (c) => {
        const next = config();
        const list = spec.list(next);
        const at = list.findIndex((i) => i.name === c.params['name']);
        if (at < 0) throw notFound(`${spec.what} '${c.params['name']}'`);
        list.splice(at, 1);
        const body = await applyOrThrow(ctx, next, `${spec.what} '${c.params['name']}' removed`);
        spec.removed?.(c.params['name']!);
        return { status: 200, body };
      },
    },
  ];
}

/**
 * VPN users: a password given is checked against the rules and stored as its NT hash; without one a
 * change keeps the hash (and the clear password of a CHAP-MD5 user). Neither is ever shown.
 */
function checkUser(user: UserConfig, previous: UserConfig | undefined, config: PosternConfig): void {
  if (user.password === undefined && previous) return;
  if (typeof user.password !== 'string' || !user.password) throw badRequest('a user needs a password', { field: 'password' });
  if (previous?.password !== undefined && user.password === previous.password) return;
  const problems = passwordProblems(user.password, { names: [user.name, config.system.hostname] });
  if (problems.length) throw new ApiError(422, ApiCode.weakPassword, 'the password does not meet the rules', { field: 'password', problems });
}

function userToStored(user: UserConfig, previous: UserConfig | undefined): UserConfig {
  if (user.password !== undefined || !previous) return storedUser(user);
  const kept = user.chapMd5 && previous.password !== undefined ? { password: previous.password } : {};
  return storedUser({ ...user, ntHash: user.ntHash ?? previous.ntHash, ...kept });
}

const LISTENERS: readonly ListenerName[] = ['ikev2', 'sstp', 'l2tp', 'pptp'];

/** A trusted CA as stored, with its subject, expiry and fingerprint for the Certificates page. */
function showTrustedCa(ca: TrustedCaConfig): unknown {
  try {
    const d = describeCertificate(ca.certificate);
    return { ...ca, subject: d.subject, notAfter: d.notAfter.toISOString(), fingerprintSha256: d.fingerprintSha256 };
  } catch {
    return ca; // validation refuses what cannot be read; an old document may still hold it
  }
}

export function objectRoutes(ctx: ApiContext): Route[] {
  return [
    ...namedListRoutes<UserConfig>(ctx, {
      path: 'users', what: 'user', list: (c) => c.users, show: ({ password: _p, ntHash: _h, ...rest }) => rest, check: checkUser, toStored: userToStored,
      removed: (name) => {
        const serials = revokeUserCertificates(ctx.stateDir, ctx.pki().ca, name, new Date(ctx.now()));
        if (serials.length) ctx.logger.info('certificates of a removed user revoked', { user: name, serials });
      },
    }),
    ...namedListRoutes(ctx, { path: 'pools', what: 'pool', list: (c) => c.pools, show: (p) => p }),
    // Other CAs whose certificates peers may present (issue 16; sites by certificate, issue 25), each with what it is.
    ...namedListRoutes<TrustedCaConfig>(ctx, {
      path: 'trusted-cas', what: 'trusted CA', list: (c) => (c.certificates.trusted ??= []), view: (c) => c.certificates.trusted ?? [], show: showTrustedCa,
      clean: ({ name, certificate, revocation }) => ({ name, certificate, ...(revocation !== undefined ? { revocation } : {}) }),
    }),
    ...namedListRoutes(ctx, {
      path: 'sites', what: 'site', list: (c) => c.sites,
      clean: (s) => {
        const { state: _s, rxPackets: _r, txPackets: _t, lastError: _e, nextRetry: _n, reason: _w, counters: _c, ...site } = s as typeof s & { state?: unknown; rxPackets?: unknown; txPackets?: unknown; lastError?: unknown; nextRetry?: unknown; reason?: unknown; counters?: unknown };
        return site;
      },
      // Each site with its live state: up with an IKE SA, or down.
      show: (s) => {
        const live = ctx.siteStates().find((x) => x.name === s.name);
        // With its last failure in the doctor's words and its next dial while down (issue 17).
        // Every secret the schema marks (the PSK, a PPP site's password, a GRE site's IPsec key) stays write-only.
        const shown = (redactConfig({ sites: [s] }) as { sites: [typeof s] }).sites[0];
        return { ...shown, state: s.enabled ? (live?.state ?? 'down') : 'disabled', rxPackets: live?.rxPackets ?? 0, txPackets: live?.txPackets ?? 0, ...ctx.siteHealth?.(s.name) };
      },
    }),
    { method: 'GET', path: '/api/v1/listeners', handler: () => ({ status: 200, body: redactConfig({ listeners: ctx.store.current().config.listeners }) }) },
    {
      method: 'PUT', path: '/api/v1/listeners/:name',
      handler: async (c) => {
        const name = c.params['name'] as ListenerName;
        if (!LISTENERS.includes(name)) throw notFound(`listener '${name}'`);
        const next = structuredClone(ctx.store.current().config);
        const body = await c.body();
        if (!body || typeof body !== 'object') throw badRequest('send the listener settings as a JSON object');
        (next.listeners as unknown as Record<string, unknown>)[name] = restoreRedacted({ ...next.listeners[name], ...body }, next.listeners[name]);
        const applied = await applyOrThrow(ctx, next, `listener ${name} changed`);
        // PPTP works but is broken cryptographically (MS-CHAPv2 + MPPE): say so wherever it is turned on.
        const warning = name === 'pptp' && next.listeners.pptp.enabled ? 'PPTP is insecure (MS-CHAPv2 and MPPE can be broken); use it only for legacy clients' : undefined;
        return { status: 200, body: { ...applied, ...(warning ? { warning } : {}) } };
      },
    },
    { method: 'GET', path: '/api/v1/telemetry', handler: () => ({ status: 200, body: redactConfig({ telemetry: ctx.store.current().config.telemetry }) }) },
    {
      method: 'PUT', path: '/api/v1/telemetry',
      handler: async (c) => {
        const next = structuredClone(ctx.store.current().config);
        const body = (await c.body()) as { mqtt?: unknown };
        if (!body.mqtt || typeof body.mqtt !== 'object') throw badRequest("send {mqtt: {...}}");
        next.telemetry.mqtt = restoreRedacted({ ...next.telemetry.mqtt, ...body.mqtt }, next.telemetry.mqtt) as PosternConfig['telemetry']['mqtt'];
        // null removes an optional block (the web UI clears broker discovery so).
        const merged = next.telemetry.mqtt as unknown as Record<string, unknown>;
        for (const [key, value] of Object.entries(body.mqtt)) if (value === null) delete merged[key];
        return { status: 200, body: await applyOrThrow(ctx, next, 'telemetry settings changed') };
      },
    },
  ];
}
