/**
 * Configuration history for the History page (issue 17): what each revision changed, field by field,
 * and what a rollback would remove or change before it is applied.
 */
import { diffConfigs, summarize } from '../../config/config-diff.ts';
import type { PosternConfig } from '../../config/types.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiError, ApiCode, badRequest } from '../api-error.ts';
import type { Route } from '../router.ts';
import { rollbackTarget } from './config-routes.ts';

async function revisionOrNotFound(ctx: ApiContext, revision: number): Promise<PosternConfig> {
  try {
    return await ctx.store.get(revision);
  } catch {
    throw new ApiError(404, ApiCode.notFound, `revision ${revision} is not kept`);
  }
}

const revisionParam = (text: string | undefined): number => {
  const revision = Number(text);
  if (!Number.isInteger(revision) || revision < 1) throw badRequest('revision must be a number', { field: 'revision' });
  return revision;
};

export function historyRoutes(ctx: ApiContext): Route[] {
  return [
    {
      // ?against=previous (default: what this revision changed) or current (what differs from now).
      method: 'GET', path: '/api/v1/config/history/:revision/diff',
      handler: async (c) => {
        const revision = revisionParam(c.params['revision']);
        const against = c.query.get('against') ?? 'previous';
        if (against !== 'previous' && against !== 'current') throw badRequest("'against' must be previous or current", { field: 'against' });
        const config = await revisionOrNotFound(ctx, revision);
        if (against === 'current') return { status: 200, body: { revision, against, changes: diffConfigs(config, ctx.store.current().config) } };
        const previous = ctx.store.history().map((r) => r.revision).filter((r) => r < revision).sort((a, b) => b - a)[0];
        if (previous === undefined) return { status: 200, body: { revision, against, previous: null, changes: [] } };
        return { status: 200, body: { revision, against, previous, changes: diffConfigs(await revisionOrNotFound(ctx, previous), config) } };
      },
    },
    {
      // Exactly what POST /config/rollback with this revision would do to the running configuration.
      method: 'POST', path: '/api/v1/config/rollback/preview',
      handler: async (c) => {
        const body = (await c.body()) as { revision?: unknown };
        if (!Number.isInteger(body.revision)) throw badRequest("'revision' must be a number", { field: 'revision' });
        const revision = body.revision as number;
        const { config, revision: current } = ctx.store.current();
        const changes = diffConfigs(config, rollbackTarget(await revisionOrNotFound(ctx, revision), config));
        return { status: 200, body: { revision, current, changes, summary: summarize(changes), keeps: ['admin'] } };
      },
    },
  ];
}
