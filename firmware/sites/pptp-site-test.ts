/**
 * A PPTP site's Test (issue 22), sans-I/O: how far the dial got (the TCP control connection, the
 * outgoing call, PPP with MPPE) as steps and, for a failure, what it means and what to check.
 */
import type { PppSiteObservation } from './ppp-site-link.ts';
import { pppDialTestResult, type SiteTestResult } from './site-test.ts';
import type { PptpDialStep } from '../pptp/pptp-dialer.ts';

const STEPS = [
  ['control', 'PPTP control connection (TCP 1723) answered'],
  ['call', 'Call placed (Outgoing-Call-Reply, enhanced GRE)'],
  ['ppp', 'Logged in and address agreed (PPP, MS-CHAPv2, MPPE-128, IPCP)'],
] as const;

const LEVEL = { none: 0, control: 1, call: 2, up: 3 } as const;

function problem(reason: string, failedAt: number): NonNullable<SiteTestResult['problem']> {
  if (failedAt === 0) {
    return { cause: 'no-answer', explanation: 'The peer did not answer PPTP on TCP 1723: it is unreachable, its PPTP listener is off, or a firewall drops the connection.', fix: 'Check the peer address and that PPTP is enabled on the peer.', detail: reason };
  }
  if (failedAt === 1) {
    return { cause: 'other', explanation: 'The control connection is up but no call could be placed: the peer refused it, or GRE (IP protocol 47) does not pass between the gateways.', fix: 'Check that GRE passes every firewall and NAT on the path (a NAT needs a PPTP helper).', detail: reason };
  }
  return { cause: 'peer-refused', explanation: 'The peer refused this gateway\'s login (the user name or password set on the site is wrong there, or the user is disabled), MPPE-128 could not be agreed, or GRE is dropped on the way.', fix: 'Check the site\'s user name and password against the user on the peer gateway, and that GRE passes.', detail: reason };
}

export function pptpTestResult(site: string, host: string, o: PppSiteObservation<PptpDialStep>): SiteTestResult {
  return pppDialTestResult(site, 'pptp', host, STEPS, LEVEL[o.reached], o, problem);
}
