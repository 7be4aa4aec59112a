/**
 * An L2TP site's Test (issue 20), sans-I/O: how far the dial got (the IPsec transport SA, the L2TP
 * tunnel and session, PPP) as steps and, for a failure, what it means and what to check.
 */
import type { PppSiteObservation } from './ppp-site-link.ts';
import { pppDialTestResult, type SiteTestResult } from './site-test.ts';
import type { L2tpDialStep } from '../l2tp/l2tp-dialer.ts';

const STEPS = [
  ['ipsec', 'IPsec with the peer (IKEv1 Main Mode, transport mode for UDP 1701)'],
  ['tunnel', 'L2TP tunnel answered'],
  ['ppp', 'Logged in and address agreed (L2TP session, PPP, MS-CHAPv2, IPCP)'],
] as const;

const LEVEL = { none: 0, ipsec: 1, tunnel: 2, up: 3 } as const;

function problem(reason: string, failedAt: number): NonNullable<SiteTestResult['problem']> {
  if (failedAt === 0) {
    return { cause: 'no-answer', explanation: 'IPsec with the peer did not come up: it is unreachable on UDP 500/4500, its L2TP listener is off, or the pre-shared keys differ.', fix: 'Check the peer address, that L2TP is enabled on the peer, and that the site\'s pre-shared key is the peer\'s L2TP key. The connection problems list shows the IKE step that failed.', detail: reason };
  }
  if (failedAt === 1) {
    return { cause: 'other', explanation: 'IPsec is up but the peer did not answer L2TP: its L2TP listener is off or refuses this gateway (a tunnel secret that differs).', fix: 'Check that L2TP is enabled on the peer and the tunnel secrets match.', detail: reason };
  }
  return { cause: 'peer-refused', explanation: 'The peer refused this gateway\'s login (the user name or password set on the site is wrong there, or the user is disabled), or the call broke off during PPP.', fix: 'Check the site\'s user name and password against the user on the peer gateway.', detail: reason };
}

export function l2tpTestResult(site: string, host: string, o: PppSiteObservation<L2tpDialStep>): SiteTestResult {
  return pppDialTestResult(site, 'l2tp', host, STEPS, LEVEL[o.reached], o, problem);
}
