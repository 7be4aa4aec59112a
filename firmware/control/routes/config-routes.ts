/** The configuration document: read (redacted), replace, export/import, history and rollback. */
import { redactConfig } from '../../config/redact.ts';
import type { ApplyResult } from '../../config/transaction.ts';
import type { PosternConfig } from '../../config/types.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest } from '../api-error.ts';
import type { Route } from '../router.ts';

/** Applies through the transaction; a refusal becomes 422 with the per-field issues, a failed apply 409. */
export async function applyOrThrow(ctx: ApiContext, next: PosternConfig, comment: string): Promise<{ revision: number; warnings: unknown[] }> {
  const result: ApplyResult = await ctx.apply(next, { author: 'admin', comment });
  if (result.ok) return { revision: result.revision, warnings: result.warnings };
  if (result.stage === 'validate') throw new ApiError(422, ApiCode.invalidConfig, 'the configuration is not valid', { issues: result.errors });
  throw new ApiError(409, ApiCode.applyFailed, `the change could not be applied and was ${result.rolledBack ? 'rolled back' : 'only partly rolled back'}`, { stage: result.stage, issues: result.errors });
}

/** Secrets kept as they are when a document comes back with "<redacted>" in their place. */
export function restoreRedacted(next: unknown, current: unknown): unknown {
  if (next === '<redacted>') return current;
  if (Array.isArray(next)) return next.map((v, i) => restoreRedacted(v, Array.isArray(current) ? current[i] : undefined));
  if (next && typeof next === 'object') {
    const cur = current && typeof current === 'object' ? (current as Record<string, unknown>) : {};
    // Lists of named objects (users, pools, sites) are matched by name, not position.
    return Object.fromEntries(Object.entries(next).map(([k, v]) => [k, restoreRedacted(v, Array.isArray(v) && Array.isArray(cur[k]) ? byName(v, cur[k] as unknown[]) : cur[k])]));
  }
  return next;
}

function byName(next: unknown[], current: unknown[]): unknown[] {
  const named = (x: unknown) => (x && typeof x === 'object' ? (x as { name?: unknown }).name : undefined);
  return next.map((item) => current.find((c) => named(c) !== undefined && named(c) === named(item)));
}

export function configRoutes(ctx: ApiContext): Route[] {
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
        const next = restoreRedacted(body.config, current().config) as PosternConfig;
        const applied = await applyOrThrow(ctx, next, typeof body.comment === 'string' ? body.comment.slice(0, 200) : 'edited in the API');
        return { status: 200, body: applied };
      },
    },
    {
      // With ?secrets=1 the export carries passwords and keys (to move a box's setup to another).
      method: 'GET', path: '/api/v1/config/export',
      handler: (c) => {
        const withSecrets = c.query.get('secrets') === '1';
        ctx.logger.info('configuration exported', { secrets: withSecrets });
        const doc = withSecrets ? current().config : redactConfig(current().config);
        return { file: `${JSON.stringify(doc, null, 2)}\n`, contentType: 'application/json', filename: `postern-config-r${current().revision}.json` };
      },
    },
    {
      method: 'POST', path: '/api/v1/config/import',
      handler: async (c) => {
        const body = (await c.body()) as { config?: unknown };
        if (!body.config || typeof body.config !== 'object') throw badRequest("'config' must be a configuration document");
        const next = restoreRedacted(body.config, current().config) as PosternConfig;
        return { status: 200, body: await applyOrThrow(ctx, next, 'imported') };
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
        const revision = (await c.body()) as { revision?: unknown };
        if (!Number.isInteger(revision.revision)) throw badRequest("'revision' must be a number");
        let old: PosternConfig;
        try {
          old = await ctx.store.get(revision.revision as number);
        } catch {
          throw new ApiError(404, ApiCode.notFound, `revision ${String(revision.revision)} is not kept`);
        }
        // The admin password is not rolled back with the rest: that would lock the admin out.
        const next = { ...structuredClone(old), admin: current().config.admin };
        return { status: 200, body: await applyOrThrow(ctx, next, `rolled back to revision ${String(revision.revision)}`) };
      },
    },
  ];
}
