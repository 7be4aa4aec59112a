/** A site's Test (issue 17): dial it now and answer each step's outcome, failures in the doctor's words. */
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, notFound } from '../api-error.ts';
import type { Route } from '../router.ts';

export function siteRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'POST', path: '/api/v1/sites/:name/test',
      handler: async (c) => {
        const name = c.params['name'] ?? '';
        const site = ctx.store.current().config.sites.find((s) => s.name === name);
        if (!site) throw notFound(`site '${name}'`);
        let tested;
        try {
          tested = await ctx.testSite?.(name);
        } catch (error) {
          // One test at a time: a second one waits for the first's answer.
          throw new ApiError(409, ApiCode.conflict, error instanceof Error ? error.message : String(error));
        }
        const result = tested ?? { site: name, protocol: site.protocol, available: false, reason: 'not available in this build', ok: false, steps: [], durationMs: 0 };
        ctx.logger.info('site tested', { site: name, ok: result.ok, available: result.available, ...(result.problem ? { cause: result.problem.cause } : {}) });
        return { status: 200, body: result };
      },
    },
  ];
}
