/**
 * When the box asks for a new certificate (issue 26, renewal.ts), as a state machine on a clock it is
 * given: nothing before 2/3 of the certificate's life; then one request at a time, an unanswered
 * one given up after ANSWER_WAIT_MS; a refused, unanswered or reverted attempt retried with backoff
 * (renewal.ts nextRenewalAttempt). Pure: the shell feeds it events and the time, and acts on `next`.
 */
import { nextRenewalAttempt, renewalDueAt } from './renewal.ts';

export const ANSWER_WAIT_MS = 5 * 60_000;

export interface RenewalState {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly failures: number;
  /** No attempt before this (backoff after a failure). */
  readonly retryAt: number;
  /** The request sent and not yet answered. */
  readonly waiting?: { readonly csrSha256: string; readonly sentAt: number };
  /** The last failure in words, for the Fleet page and the log. */
  readonly lastFailure?: { readonly code: string; readonly reason: string; readonly at: number };
}

export type RenewalEvent =
  | { readonly kind: 'sent'; readonly csrSha256: string; readonly at: number }
  | { readonly kind: 'refused'; readonly code: string; readonly reason: string; readonly at: number }
  /** The switch to the new certificate did not reach the broker: the old one is back. */
  | { readonly kind: 'reverted'; readonly at: number }
  /** The new certificate is in use: the plan starts over for it. */
  | { readonly kind: 'renewed'; readonly notBefore: number; readonly notAfter: number };

export const planFor = (notBefore: number, notAfter: number): RenewalState => ({ notBefore, notAfter, failures: 0, retryAt: renewalDueAt(notBefore, notAfter) });

/** What to do now: send a request, or nothing until `at`. An unanswered request past its wait counts as a failure. */
export function nextStep(s: RenewalState, now: number): { readonly state: RenewalState; readonly action: 'send' | 'wait'; readonly at: number } {
  let state = s;
  if (state.waiting) {
    const giveUp = state.waiting.sentAt + ANSWER_WAIT_MS;
    if (now < giveUp) return { state, action: 'wait', at: giveUp };
    state = failed(state, 'no-answer', 'the console did not answer the renewal request', now);
  }
  return now >= state.retryAt ? { state, action: 'send', at: now } : { state, action: 'wait', at: state.retryAt };
}

export function onRenewalEvent(s: RenewalState, e: RenewalEvent): RenewalState {
  switch (e.kind) {
    case 'sent':
      return { ...s, waiting: { csrSha256: e.csrSha256, sentAt: e.at } };
    case 'refused':
      return failed(s, e.code, e.reason, e.at);
    case 'reverted':
      return failed(s, 'reverted', 'the new certificate did not reach the broker; the old one is back', e.at);
    case 'renewed':
      return planFor(e.notBefore, e.notAfter);
  }
}

function failed(s: RenewalState, code: string, reason: string, at: number): RenewalState {
  const failures = s.failures + 1;
  const { waiting: _answered, ...rest } = s;
  return { ...rest, failures, retryAt: nextRenewalAttempt(failures, at, s.notAfter), lastFailure: { code, reason, at } };
}
