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
  /**
   * Not revoked but refused for now (a certificate of a disabled or removed VPN user): refused
   * whatever the policy, accepted again when the cause goes (the user enabled again).
   */
  | { readonly status: 'suspended'; readonly source: string; readonly why: string }
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
  /**
   * `anchor`: the trusted CA at the top of the path, whose policy applies when `issuer` is an
   * intermediate CA the configuration does not name.
   */
  check(certificate: X509Certificate, issuer: X509Certificate, now: Date, anchor?: X509Certificate): RevocationAnswer;
}

export type RevocationVerdict =
  | { readonly verdict: 'accept'; readonly note?: string }
  | { readonly verdict: 'refuse'; readonly reason: string }
  | { readonly verdict: 'wait'; readonly why: string };

/**
 * The verdict on a whole path (issue 16): each certificate, the peer's own and every intermediate CA
 * it came through, asked under the policy of the CA that signed it, as Windows checks a chain. The
 * first refusal decides; else a wait; else accepted, with the notes of soft-fail answers.
 */
export function chainRevocationVerdict(chain: ReadonlyArray<{ readonly certificate: X509Certificate; readonly issuer: X509Certificate }>, checker: RevocationChecker, now: Date): RevocationVerdict {
  const notes: string[] = [];
  let wait: string | undefined;
  const anchor = chain.at(-1)?.issuer;
  for (const [i, link] of chain.entries()) {
    const verdict = revocationVerdict(link.certificate, checker.check(link.certificate, link.issuer, now, anchor));
    if (verdict.verdict === 'refuse') return i === 0 ? verdict : { verdict: 'refuse', reason: `intermediate CA ${verdict.reason}` };
    if (verdict.verdict === 'wait') wait ??= verdict.why;
    else if (verdict.note) notes.push(verdict.note);
  }
  if (wait) return { verdict: 'wait', why: wait };
  return notes.length ? { verdict: 'accept', note: notes.join('; ') } : { verdict: 'accept' };
}

/** "CN=alice, O=Example" from node:crypto's multi-line subject. */
export const subjectText = (c: X509Certificate): string => c.subject.replace(/\n/g, ', ');

export function revocationVerdict(certificate: X509Certificate, answer: RevocationAnswer): RevocationVerdict {
  const { policy, status } = answer;
  const who = `certificate '${subjectText(certificate)}' serial ${normalSerial(certificate.serialNumber)}`;
  if (status.status === 'suspended') return { verdict: 'refuse', reason: `${who} is refused: ${status.why} (${status.source})` };
  if (policy === 'off') return { verdict: 'accept' };
  if (status.status === 'good') return { verdict: 'accept' };
  if (status.status === 'revoked') return { verdict: 'refuse', reason: `${who} is revoked (${status.source}, revoked at ${status.revokedAt.toISOString()})` };
  if (policy === 'soft') return { verdict: 'accept', note: `revocation of ${who} unknown (${status.why}); accepted (soft-fail)` };
  if (status.pending) return { verdict: 'wait', why: `revocation of ${who} is being fetched` };
  return { verdict: 'refuse', reason: `revocation of ${who} cannot be checked (${status.why}; hard-fail)` };
}
