import type { X509Certificate } from 'node:crypto';
import type { RevocationPolicy } from '../config/types.ts';
import { normalSerial } from './der-read.ts';

/**
 * What is known about a peer certificate's revocation, and what the policy of its CA makes of it
 * (issue 16): `off` never refuses; `soft` refuses a revoked certificate only; `hard` refuses too
 * when no answer can be had. Pure: the engines and the SSTP dialer apply it to a checker's answer.
 */
export type RevocationStatus =
  | { readonly status: 'good'; readonly source: string }
  | { readonly status: 'revoked'; readonly source: string; readonly revokedAt: Date }
  | { readonly status: 'unknown'; readonly why: string; /** A fetch is under way: worth waiting for. */ readonly pending: boolean };

export interface RevocationAnswer {
  readonly policy: RevocationPolicy;
  readonly status: RevocationStatus;
}

/**
 * A synchronous checker for sans-I/O engines: it answers from what its shell already fetched and,
 * on a miss, starts fetching (answering `unknown`, pending) so a retransmission finds the answer.
 */
export interface RevocationChecker {
  check(certificate: X509Certificate, issuer: X509Certificate, now: Date): RevocationAnswer;
}

export type RevocationVerdict =
  | { readonly verdict: 'accept'; readonly note?: string }
  | { readonly verdict: 'refuse'; readonly reason: string }
  | { readonly verdict: 'wait'; readonly why: string };

/** "CN=alice, O=Example" from node:crypto's multi-line subject. */
export const subjectText = (c: X509Certificate): string => c.subject.replace(/\n/g, ', ');

export function revocationVerdict(certificate: X509Certificate, answer: RevocationAnswer): RevocationVerdict {
  const { policy, status } = answer;
  if (policy === 'off') return { verdict: 'accept' };
  const who = `certificate '${subjectText(certificate)}' serial ${normalSerial(certificate.serialNumber)}`;
  if (status.status === 'good') return { verdict: 'accept' };
  if (status.status === 'revoked') return { verdict: 'refuse', reason: `${who} is revoked (${status.source}, revoked at ${status.revokedAt.toISOString()})` };
  if (policy === 'soft') return { verdict: 'accept', note: `revocation of ${who} unknown (${status.why}); accepted (soft-fail)` };
  if (status.pending) return { verdict: 'wait', why: `revocation of ${who} is being fetched` };
  return { verdict: 'refuse', reason: `revocation of ${who} cannot be checked (${status.why}; hard-fail)` };
}
