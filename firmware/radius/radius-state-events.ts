/**
 * Telemetry events for RADIUS servers going down and coming back (issue 21), from the overview's
 * gateway-wide state (a server is down when every listener's client marked it dead): one event per
 * change however many listeners ask the server, none for servers no listener asks. Pure: the
 * service feeds it the overview now and then and sends what it returns.
 */
import type { RadiusServerView } from './radius-overview.ts';

export interface RadiusStateEvent {
  readonly type: 'radius-server-down' | 'radius-server-up';
  readonly details: { readonly server: string; readonly address: string; readonly usedBy: readonly string[]; readonly lastAnswerAt?: string };
}

export class RadiusStateEvents {
  readonly #last = new Map<string, 'alive' | 'dead'>();

  observe(servers: ReadonlyArray<Pick<RadiusServerView, 'name' | 'address' | 'state' | 'usedBy' | 'lastAnswerAt'>>): RadiusStateEvent[] {
    const out: RadiusStateEvent[] = [];
    const seen = new Set<string>();
    for (const s of servers) {
      if (s.state === 'unused') continue;
      seen.add(s.name);
      const before = this.#last.get(s.name);
      this.#last.set(s.name, s.state);
      // A server first seen alive is no news; first seen dead is.
      if (before === s.state || (before === undefined && s.state === 'alive')) continue;
      out.push({
        type: s.state === 'dead' ? 'radius-server-down' : 'radius-server-up',
        details: { server: s.name, address: s.address, usedBy: s.usedBy, ...(s.lastAnswerAt !== undefined ? { lastAnswerAt: new Date(s.lastAnswerAt).toISOString() } : {}) },
      });
    }
    for (const name of [...this.#last.keys()]) if (!seen.has(name)) this.#last.delete(name);
    return out;
  }
}
