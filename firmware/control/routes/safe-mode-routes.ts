/** Safe mode (issue 17): what is pending and until when, confirm it, or go back now. */
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError } from '../api-error.ts';
import type { Route } from '../router.ts';

export function safeModeRoutes(ctx: ApiContext): Route[] {
  const view = () => {
    const s = ctx.safeMode?.();
    const now = ctx.now();
    return {
      pending: s?.pending ? { ...s.pending, deadline: new Date(s.pending.deadline).toISOString(), secondsLeft: Math.max(0, Math.ceil((s.pending.deadline - now) / 1000)) } : null,
      last: s?.last ? { kind: s.last.kind, at: new Date(s.last.at).toISOString(), revision: s.last.change.revision, previousRevision: s.last.change.previousRevision, ...(s.last.revision !== undefined ? { newRevision: s.last.revision } : {}), ...(s.last.error ? { error: s.last.error } : {}) } : null,
    };
  };
  const nothing = () => new ApiError(409, ApiCode.conflict, 'no change is waiting for confirmation');
  return [
    { method: 'GET', path: '/api/v1/safe-mode', handler: () => ({ status: 200, body: view() }) },
    {
      method: 'POST', path: '/api/v1/safe-mode/confirm',
      handler: () => {
        if (!ctx.safeMode?.().confirm()) throw nothing();
        return { status: 200, body: view() };
      },
    },
    {
      method: 'POST', path: '/api/v1/safe-mode/revert',
      handler: async () => {
        const outcome = await ctx.safeMode?.().revert('reverted by the administrator');
        if (!outcome) throw nothing();
        return { status: outcome.kind === 'reverted' ? 200 : 409, body: view() };
      },
    },
  ];
}
