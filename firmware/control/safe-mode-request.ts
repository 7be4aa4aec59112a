/**
 * `?confirmWithin=<seconds>` on a change request (issue 17, safe mode): carried from the dispatcher to
 * `applyOrThrow` for the request's duration, so every route that changes the configuration (WAN,
 * LAN, management, listeners, the whole document) can be applied as "confirm within N s or revert"
 * without each handler reading it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { checkConfirmWithin } from '../config/safe-mode.ts';
import { badRequest } from './api-error.ts';

const scope = new AsyncLocalStorage<number | undefined>();

/** Runs the handler with the request's confirmWithin (refused at its field when malformed). */
export function withConfirmWithin<T>(query: URLSearchParams, handler: () => T): T {
  const raw = query.get('confirmWithin');
  if (raw === null) return scope.run(undefined, handler);
  const checked = checkConfirmWithin(raw);
  if (!checked.ok) throw badRequest(`'confirmWithin' ${checked.why}`, { field: 'confirmWithin' });
  return scope.run(checked.seconds, handler);
}

/** The seconds this request asked for, if any. */
export const requestedConfirmWithin = (): number | undefined => scope.getStore();
