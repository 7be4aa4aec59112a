/*
 * L2TP's PPP data sessions on their clients' paths (issue 20). A session installed in the driver
 * (dataplane/native-ppp.ts) is carried by every transport child of its client's path
 * (l2tp-paths.ts), so it follows the client across rekeys and a new phase 1, never an SPI: a child
 * that joins the path carries it too and, being the newest, takes its routes; when a child goes,
 * the newest left takes them back.
 */
import { NativePppSession, type PppDataCounters, type PppDataSessionSpec } from '../dataplane/native-ppp.ts';
import type { L2tpPaths } from './l2tp-paths.ts';

/** What the data plane offers for it (UserspaceDataPlane). */
export interface PppDataCarrier {
  attachPppData(reqid: number, session: NativePppSession): boolean;
  detachPppData(reqid: number, session: NativePppSession): void;
}

/** One session's data path in the driver, as its L2TP shell holds it. */
export interface PppDataPath {
  stats(): PppDataCounters | undefined;
  /** Off the path, freed: its IP goes back to JavaScript's path (the caller routes it again). */
  close(): void;
}

export class L2tpPppData {
  readonly #paths: L2tpPaths;
  readonly #carrier: () => PppDataCarrier | undefined;
  readonly #byVia = new Map<number, Set<NativePppSession>>();

  constructor(paths: L2tpPaths, carrier: () => PppDataCarrier | undefined) {
    this.#paths = paths;
    this.#carrier = carrier;
  }

  /** Undefined when the driver cannot carry it (an older driver, no transport child on the path). */
  open(via: number, spec: PppDataSessionSpec): PppDataPath | undefined {
    const carrier = this.#carrier();
    const session = carrier ? NativePppSession.open(spec) : undefined;
    if (!carrier || !session) return undefined;
    // Oldest first: the newest child attaches last and so takes the routes.
    const reqids = [...this.#paths.reqidsOf(via)].reverse();
    const carried = reqids.filter((reqid) => carrier.attachPppData(reqid, session));
    if (carried.length === 0) return void session.release();
    let sessions = this.#byVia.get(via);
    if (!sessions) this.#byVia.set(via, (sessions = new Set()));
    sessions.add(session);
    return {
      stats: () => session.stats(),
      close: () => {
        this.#byVia.get(via)?.delete(session);
        for (const reqid of this.#paths.reqidsOf(via)) this.#carrier()?.detachPppData(reqid, session);
        session.release();
      },
    };
  }

  /** A child joined the path (install, rekey, new phase 1): it carries the path's sessions and takes their routes. */
  joined(via: number, reqid: number): void {
    const carrier = this.#carrier();
    for (const session of this.#byVia.get(via) ?? []) carrier?.attachPppData(reqid, session);
  }

  /** A child left (on whichever path): each path's newest child left takes its sessions' routes back (attaching again only routes again). */
  left(): void {
    const carrier = this.#carrier();
    for (const [via, sessions] of this.#byVia) {
      const newest = this.#paths.reqidsOf(via)[0];
      if (newest !== undefined) for (const session of sessions) carrier?.attachPppData(newest, session);
    }
  }

  /** IKE stopped: every tunnel is gone; the sessions' shells close their handles themselves. */
  clear(): void {
    this.#byVia.clear();
  }
}
