/**
 * PPP sessions (SSTP, L2TP, PPTP) as dynamic authorization sees them (RFC 5176, issue 21): the
 * API's id, the Acct-Session-Id their accounting sends, the user, the leased addresses and the
 * client's address; ended through the subsystem's own disconnect (which may do more than close PPP);
 * a CoA's Session-Timeout, Idle-Timeout and Acct-Interim-Interval applied to the session and its accounting.
 */
import type { DasSessionHandle } from '../radius/das-sessions.ts';
import type { SessionAccounting } from '../radius/session-accounting.ts';
import type { PppSession } from './ppp-session.ts';

export function pppDasSessions(sessions: Iterable<PppSession>, accounting: SessionAccounting | undefined, disconnect: (id: number, reason: string) => boolean): DasSessionHandle[] {
  return [...sessions].map((session) => {
    const info = session.info;
    return {
      id: `${info.protocol}-${info.id}`,
      ...(accounting ? { acctSessionId: accounting.sessionId(info) } : {}),
      ...(info.user !== undefined ? { user: info.user } : {}),
      ...(info.ipv4 !== undefined ? { framedIp: info.ipv4 } : {}),
      ...(info.ipv6Prefix !== undefined ? { framedIpv6Prefix: info.ipv6Prefix } : {}),
      ...(info.ipv6 !== undefined ? { framedIpv6Address: info.ipv6 } : {}),
      peer: info.peer,
      changeable: ['sessionTimeoutSeconds', 'idleTimeoutSeconds', 'interimSeconds'],
      end: (reason) => void disconnect(info.id, reason),
      change: (change) => {
        session.changeLimits(change);
        if (change.interimSeconds !== undefined) accounting?.changeInterim(session.info, change.interimSeconds, () => session.info);
      },
    };
  });
}
