/** The connection doctor (issue 17): failed connection attempts explained, per user or site. */
import type { ApiContext } from '../api-context.ts';
import { badRequest } from '../api-error.ts';
import type { Route } from '../router.ts';

/** `?user=alice`, `?site=branch`, `?after=<id>` (only newer ones), `?limit=100` (at most 500). */
export function problemRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET', path: '/api/v1/problems',
      handler: (c) => {
        const user = c.query.get('user') ?? undefined;
        const site = c.query.get('site') ?? undefined;
        const afterText = c.query.get('after');
        const after = afterText === null ? undefined : Number(afterText);
        if (after !== undefined && (!Number.isInteger(after) || after < 0)) throw badRequest("'after' must be a problem id", { field: 'after' });
        const limit = Math.min(500, Math.max(1, Number(c.query.get('limit') ?? 500) || 500));
        const filter = { ...(user ? { user } : {}), ...(site ? { site } : {}), ...(after !== undefined ? { after } : {}) };
        return { status: 200, body: { problems: (ctx.problems?.(filter) ?? []).slice(0, limit) } };
      },
    },
  ];
}
