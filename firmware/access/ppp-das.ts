/**
 * PPP sessions (SSTP, L2TP, PPTP) as dynamic authorization sees them (RFC 5176, issue 21): the
 * API's id, the Acct-Session-Id their accounting sends, the user, the leased address and the
 * client's address; ended through the subsystem's own disconnect (which may do more than close PPP).
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
      peer: info.peer,
      end: (reason) => void disconnect(info.id, reason),
      setSessionTimeout: (seconds) => session.changeSessionTimeout(seconds),
    };
  });
}
