/**
 * The fleet state for the web UI's Fleet page (issue 26), and the box's own choice on a local change
 * (`PUT /api/v1/fleet/on-local-change`), in force only while the operator's desired document makes
 * none (drift.ts); kept beside the fleet's ledger, not in the configuration (local-choice.ts).
 */
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest, notFound } from '../api-error.ts';
import type { Route } from '../router.ts';

export function fleetRoutes(ctx: ApiContext): Route[] {
  const view = () => {
    const v = ctx.fleet?.();
    if (!v) throw notFound('fleet state');
    return v;
  };
  return [
    { method: 'GET', path: '/api/v1/fleet', handler: () => ({ status: 200, body: view() }) },
    {
      method: 'PUT', path: '/api/v1/fleet/on-local-change',
      handler: async (c) => {
        const body = (await c.body()) as { onLocalChange?: unknown } | null;
        const choice = body?.onLocalChange;
        if (choice !== null && choice !== 'keep' && choice !== 'desired-wins') throw badRequest("send {onLocalChange: 'keep' | 'desired-wins' | null}");
        if (!ctx.setFleetChoice || !ctx.store.current().config.telemetry.mqtt.fleet) throw new ApiError(409, ApiCode.conflict, 'this box has no fleet configuration');
        const done = await ctx.setFleetChoice(choice ?? undefined, 'admin');
        if (!done.ok) throw new ApiError(409, ApiCode.conflict, done.why);
        return { status: 200, body: view() };
      },
    },
  ];
}
