/**
 * The IKEv2 side of a site's "Test" (issue 17): dials the site now (a fresh IKE SA; when one is up, a
 * make-before-break reauthentication, so traffic keeps flowing) and watches that SA until it has a
 * child, closes, or the deadline passes. The steps are made from what it saw by sites/site-test.ts.
 */
import type { IkeDialObservation } from '../sites/site-test.ts';
import type { IkeEngine } from './engine/engine.ts';
import type { IkeSa } from './engine/ike-sa.ts';
import type { IkeShell } from './shell/ike-shell.ts';

export interface DialWatch {
  /** Called by the subsystem for every ike-down it sees. */
  down(spi: bigint, reason: string): void;
}

const POLL_MS = 100;

export async function observeIkeDial(
  engine: IkeEngine, shell: IkeShell, connection: string, local: { address: string; port: number },
  options: { deadlineMs: number; watch: (w: DialWatch | undefined) => void; remote?: string },
): Promise<Omit<IkeDialObservation, 'ping'>> {
  const started = Date.now();
  const existing = new Set(engine.sas.map((s) => s.spiI));
  const up = engine.sas.find((s) => s.initiator && s.state === 'established' && s.rekeyedTo === undefined && s.connection?.name === connection);
  if (up) shell.reauthenticate(up.spiI);
  else shell.initiate(connection, local, options.remote);
  const dialled = engine.sas.find((s) => !existing.has(s.spiI) && s.initiator && s.connection?.name === connection);
  const address = dialled?.remote.address ?? '';
  if (!dialled) return { address, reached: 'none', children: 0, closedReason: 'the dial could not start', timedOut: false, elapsedMs: Date.now() - started };
  let sa: IkeSa = dialled;
  let closedReason: string | undefined;
  options.watch({ down: (spi, reason) => void (spi === sa.spiI && (closedReason = reason)) });
  let reached: IkeDialObservation['reached'] = 'init-sent';
  try {
    for (;;) {
      // The SA's own transition history, so a step passed between two looks still counts.
      if (sa.history.some((h) => / -> init-done/.test(h))) reached = reached === 'init-sent' ? 'init-done' : reached;
      if (sa.history.some((h) => / -> established/.test(h))) reached = 'established';
      if (reached === 'established' && sa.children.length > 0) break;
      if (sa.state === 'closed' || closedReason !== undefined) {
        // The site's own redial may have raced the Test's dial: uniqueness keeps the newer SA of the
        // two, and that one is the dial to follow, not a failure.
        const successor = successorOf(engine, closedReason ?? sa.history.at(-1), connection);
        if (successor && successor !== sa) {
          sa = successor;
          closedReason = undefined;
          continue;
        }
        closedReason ??= 'closed';
        break;
      }
      if (Date.now() - started >= options.deadlineMs) return { address, reached, children: sa.children.length, timedOut: true, elapsedMs: Date.now() - started };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    options.watch(undefined);
  }
  return { address, reached, children: sa.children.length, ...(closedReason !== undefined ? { closedReason } : {}), timedOut: false, elapsedMs: Date.now() - started };
}

/** The SA that replaced a closed one of the same connection ("replaced by IKE SA <spi> …"), if any. */
function successorOf(engine: IkeEngine, reason: string | undefined, connection: string): IkeSa | undefined {
  const spi = reason && /replaced by IKE SA ([0-9a-f]+)/.exec(reason)?.[1];
  return spi ? engine.sas.find((s) => s.spiI.toString(16) === spi && s.connection?.name === connection && s.state !== 'closed') : undefined;
}
