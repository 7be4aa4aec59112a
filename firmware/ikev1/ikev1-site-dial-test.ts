/**
 * The IKEv1 side of a site's "Test" (issue 19): dials the site now (or reports the SA already up with
 * its IPsec SA, or follows the site's own dial under way) and watches the phase 1 SA until it has a child, closes, or the deadline passes. The
 * steps are made from what it saw by sites/ikev1-site-test.ts.
 */
import type { IkeShell } from '../ike/shell/ike-shell.ts';
import { ikev1DialProgress, type Ikev1DialObservation } from '../sites/ikev1-site-test.ts';
import type { Ikev1Engine } from './engine/engine.ts';

const POLL_MS = 100;

export async function observeIkev1Dial(
  engine: Ikev1Engine, shell: IkeShell, connection: string, local: { address: string; port: number }, deadlineMs: number,
): Promise<Omit<Ikev1DialObservation, 'ping' | 'mode' | 'auth'>> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const up = engine.sas.find((s) => s.state === 'established' && s.connection?.name === connection && s.children.length > 0);
  if (up) return { address: up.remote.address, reached: 'established', children: up.children.length, timedOut: false, alreadyUp: true, elapsedMs: elapsed() };
  // A dial already under way (the site's own, just after a start or change) is watched, not doubled:
  // two phase 1 SAs at once make a peer with unique IDs replace one of them.
  const mine = (s: (typeof engine.sas)[number]) => s.initiator && s.connection?.name === connection && s.state !== 'closed';
  let sa = engine.sas.find(mine);
  if (!sa) {
    const existing = new Set(engine.sas);
    shell.initiate(connection, local);
    sa = engine.sas.find((s) => !existing.has(s) && mine(s));
  }
  if (!sa) return { address: '', reached: 'none', children: 0, closedReason: 'the dial could not start', timedOut: false, elapsedMs: elapsed() };
  for (;;) {
    const seen = ikev1DialProgress(sa);
    const done = (seen.reached === 'established' && seen.children > 0) || sa.state === 'closed';
    if (done) return { address: sa.remote.address, ...seen, timedOut: false, elapsedMs: elapsed() };
    if (elapsed() >= deadlineMs) return { address: sa.remote.address, ...seen, timedOut: true, elapsedMs: elapsed() };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
