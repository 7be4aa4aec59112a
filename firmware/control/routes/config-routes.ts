/** The configuration document: read (redacted), replace, export/import, history and rollback. */
import { missingInterfaceWarnings } from '../../config/network-rules.ts';
import { redactConfig } from '../../config/redact.ts';
import { migrate } from '../../config/migrations.ts';
import type { ApplyResult } from '../../config/transaction.ts';
import { storedUsers } from '../../config/users.ts';
import type { ConfigIssue, PosternConfig } from '../../config/types.ts';
import { validateConfig } from '../../config/validate.ts';
import { MAX_JSON_DEPTH, ownValue } from '../../util/json-input.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest } from '../api-error.ts';
import { verifyPasswordAsync } from '../password-hash.ts';
import type { Route } from '../router.ts';
import { clientAddress } from '../http-io.ts';
import type { LoginGuard } from '../login-guard.ts';
import { ADMIN_ACCOUNT, refusal } from './auth-routes.ts';
import { requestedConfirmWithin } from '../safe-mode-request.ts';

/**
 * Applies through the transaction; a refusal becomes 422 with the per-field issues, a failed apply 409.
 * Warnings (insecure choices, interfaces the box lacks now) come back either way, each at its field.
 */
export async function applyOrThrow(ctx: ApiContext, next: PosternConfig, comment: string): Promise<{ revision: number; warnings: ConfigIssue[]; safeMode?: { deadline: string; previousRevision: number } }> {
  // Safe mode (issue 17): ?confirmWithin=N on the request makes this change revert unless confirmed.
  const confirmWithin = requestedConfirmWithin();
  const result: ApplyResult = await ctx.apply(next, { author: 'admin', comment, ...(confirmWithin !== undefined ? { confirmWithin } : {}) });
  const interfaces = ctx.interfaces().map((i) => i.name);
  const pending = confirmWithin !== undefined ? ctx.safeMode?.().pending : undefined;
  if (result.ok) return { revision: result.revision, warnings: [...result.warnings, ...missingInterfaceWarnings(next, interfaces)], ...(pending ? { safeMode: { deadline: new Date(pending.deadline).toISOString(), previousRevision: pending.previousRevision } } : {}) };
  if (result.stage === 'validate') {
    throw new ApiError(422, ApiCode.invalidConfig, 'the configuration is not valid', { issues: result.errors, warnings: validateConfig(next, { interfaces }).warnings });
  }
  throw new ApiError(409, ApiCode.applyFailed, `the change could not be applied and was ${result.rolledBack ? 'rolled back' : 'only partly rolled back'}`, { stage: result.stage, issues: result.errors });
}

/**
 * Secrets kept as they are when a document comes back with "<redacted>" in their place. Depth-checked
 * (bodies are bounded when read, but this walk must not be the one that overflows, issue 15.7), and
 * only own properties of the current document are looked at ("__proto__" is refused by validation).
 */
export function restoreRedacted(next: unknown, current: unknown, depth = 0): unknown {
  if (next === '<redacted>') return current;
  if (next === null || typeof next !== 'object') return next;
  if (depth >= MAX_JSON_DEPTH) throw badRequest(`the document is nested deeper than ${MAX_JSON_DEPTH} levels`, { reason: 'depth' });
  if (Array.isArray(next)) return next.map((v, i) => restoreRedacted(v, Array.isArray(current) ? current[i] : undefined, depth + 1));
  // Lists of named objects (users, pools, sites) are matched by name, not position.
  return Object.fromEntries(Object.entries(next).map(([k, v]) => {
    const cur = ownValue(current, k);
    return [k, restoreRedacted(v, Array.isArray(v) && Array.isArray(cur) ? byName(v, cur) : cur, depth + 1)];
  }));
}

function byName(next: unknown[], current: unknown[]): unknown[] {
  return next.map((item) => current.find((c) => ownValue(c, 'name') !== undefined && ownValue(c, 'name') === ownValue(item, 'name')));
}

const exportFile = (doc: unknown, revision: number) => ({ file: `${JSON.stringify(doc, null, 2)}\n`, contentType: 'application/json', filename: `postern-config-r${revision}.json` });

/** An older format moved forward as the store would move it; a newer one refused at its field. */
function migrateInput(doc: unknown): unknown {
  try {
    return migrate(doc).doc;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ApiError(422, ApiCode.invalidConfig, 'the configuration is not valid', { issues: [{ path: 'version', code: 'version', message }] });
  }
}

/**
 * What a rollback to `old` makes current: the admin password is not rolled back with the rest (that
 * would lock the admin out), and an older revision is moved to this format first, as the store would
 * at load. The rollback preview (history-routes.ts) shows the difference to exactly this.
 */
export function rollbackTarget(old: PosternConfig, current: PosternConfig): PosternConfig {
  return { ...(migrateInput(structuredClone(old)) as PosternConfig), admin: current.admin };
}

/**
 * A whole document from a client (PUT, import): secrets it left redacted kept, an older format
 * migrated, users' passwords turned into NT hashes (issue 15.11). What the store will accept is
 * then decided by applyConfig alone.
 */
export function documentFromInput(doc: unknown, current: PosternConfig): PosternConfig {
  const next = migrateInput(restoreRedacted(doc, current));
  if (next === null || typeof next !== 'object' || Array.isArray(next) || !Object.hasOwn(next, 'users')) return next as PosternConfig;
  return { ...(next as PosternConfig), users: storedUsers((next as { users: unknown }).users) as PosternConfig['users'] };
}

export function configRoutes(ctx: ApiContext, guard: LoginGuard): Route[] {
  const current = () => ctx.store.current();
  return [
    { method: 'GET', path: '/api/v1/config', handler: () => ({ status: 200, body: { revision: current().revision, config: redactConfig(current().config) } }) },
    {
      method: 'PUT', path: '/api/v1/config',
      handler: async (c) => {
        const body = (await c.body()) as { config?: unknown; expectedRevision?: unknown; comment?: unknown };
        if (!body.config || typeof body.config !== 'object') throw badRequest("'config' must be the configuration document");
        if (body.expectedRevision !== undefined && body.expectedRevision !== current().revision) {
          throw new ApiError(409, ApiCode.conflict, `the configuration changed meanwhile (revision ${current().revision}, not ${String(body.expectedRevision)})`, { revision: current().revision });
        }
        const next = documentFromInput(body.config, current().config);
        const applied = await applyOrThrow(ctx, next, typeof body.comment === 'string' ? body.comment.slice(0, 200) : 'edited in the API');
        return { status: 200, body: applied };
      },
    },
    {
      // Redacted. The secrets travel only by POST with the administrator password given again: a
      // session alone (a borrowed browser, a stolen cookie) must not carry every key off the box.
      method: 'GET', path: '/api/v1/config/export',
      handler: (c) => {
        if (c.query.get('secrets') !== null) {
          throw new ApiError(400, ApiCode.badRequest, "an export with secrets needs the administrator password: POST /api/v1/config/export with {secrets: true, password}", { field: 'secrets' });
        }
        ctx.logger.info('configuration exported', { secrets: false });
        return exportFile(redactConfig(current().config), current().revision);
      },
    },
    {
      method: 'POST', path: '/api/v1/config/export',
      handler: async (c) => {
        const body = await c.body();
        const secrets = ownValue(body, 'secrets');
        if (secrets !== true && secrets !== false && secrets !== undefined) throw badRequest("'secrets' must be true or false", { field: 'secrets' });
        if (secrets !== true) return exportFile(redactConfig(current().config), current().revision);
        const password = ownValue(body, 'password');
        if (typeof password !== 'string' || password === '') throw badRequest("'password' (the administrator's) is required to export secrets", { field: 'password' });
        // The same guard as the login: a session cannot guess the password faster here than at /login.
        const from = clientAddress(c.req);
        const outcome = await guard.attempt(ADMIN_ACCOUNT, from, () => verifyPasswordAsync(password, current().config.admin.passwordHash));
        if (!outcome.ok) {
          if (outcome.status !== 401) throw refusal(outcome);
          ctx.logger.warn('configuration export with secrets refused: wrong administrator password', { from });
          throw new ApiError(403, ApiCode.badCredentials, 'wrong administrator password', { field: 'password' });
        }
        ctx.logger.info('configuration exported', { secrets: true });
        return exportFile(current().config, current().revision);
      },
    },
    {
      method: 'POST', path: '/api/v1/config/import',
      handler: async (c) => {
        const body = (await c.body()) as { config?: unknown };
        if (!body.config || typeof body.config !== 'object') throw badRequest("'config' must be a configuration document");
        return { status: 200, body: await applyOrThrow(ctx, documentFromInput(body.config, current().config), 'imported') };
      },
    },
    { method: 'GET', path: '/api/v1/config/history', handler: () => ({ status: 200, body: { revisions: ctx.store.history() } }) },
    {
      method: 'GET', path: '/api/v1/config/history/:revision',
      handler: async (c) => {
        const revision = Number(c.params['revision']);
        if (!Number.isInteger(revision)) throw badRequest('revision must be a number');
        try {
          return { status: 200, body: { revision, config: redactConfig(await ctx.store.get(revision)) } };
        } catch {
          throw new ApiError(404, ApiCode.notFound, `revision ${revision} is not kept`);
        }
      },
    },
    {
      method: 'POST', path: '/api/v1/config/rollback',
      handler: async (c) => {
        const revision = (await c.body()) as { revision?: unknown; expectedRevision?: unknown };
        if (!Number.isInteger(revision.revision)) throw badRequest("'revision' must be a number");
        // The preview was made against this revision: anything changed since, and it would not be what was shown.
        if (revision.expectedRevision !== undefined && revision.expectedRevision !== current().revision) {
          throw new ApiError(409, ApiCode.conflict, `the configuration changed since the preview (revision ${current().revision}, not ${String(revision.expectedRevision)})`, { revision: current().revision });
        }
        let old: PosternConfig;
        try {
          old = await ctx.store.get(revision.revision as number);
        } catch {
          throw new ApiError(404, ApiCode.notFound, `revision ${String(revision.revision)} is not kept`);
        }
        const next = rollbackTarget(old, current().config);
        return { status: 200, body: await applyOrThrow(ctx, next, `rolled back to revision ${String(revision.revision)}`) };
      },
    },
  ];
}
