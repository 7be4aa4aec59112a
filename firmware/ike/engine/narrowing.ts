import { tsFromPrefix, type TrafficSelectorEntry } from '../payloads/traffic-selector.ts';

/**
 * Traffic selector narrowing (RFC 7296 §2.9): the responder answers with the intersection of
 * what the initiator proposed and what its policy allows. Ranges are compared as big-endian bytes.
 */

const compare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
const max = (a: Uint8Array, b: Uint8Array) => (compare(a, b) >= 0 ? a : b);
const min = (a: Uint8Array, b: Uint8Array) => (compare(a, b) <= 0 ? a : b);

export function intersect(a: TrafficSelectorEntry, b: TrafficSelectorEntry): TrafficSelectorEntry | undefined {
  if (a.type !== b.type) return undefined;
  if (a.protocol !== 0 && b.protocol !== 0 && a.protocol !== b.protocol) return undefined;
  const start = max(a.start, b.start);
  const end = min(a.end, b.end);
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  if (compare(start, end) > 0 || startPort > endPort) return undefined;
  return { type: a.type, protocol: a.protocol || b.protocol, startPort, endPort, start: start.slice(), end: end.slice() };
}

/** Every non-empty intersection of the proposed selectors with the configured prefixes, deduplicated. */
export function narrow(proposed: readonly TrafficSelectorEntry[], configured: readonly string[]): TrafficSelectorEntry[] {
  const out: TrafficSelectorEntry[] = [];
  for (const prefix of configured) {
    const allowed = tsFromPrefix(prefix);
    for (const p of proposed) {
      const x = intersect(p, allowed);
      if (x && !out.some((o) => compare(o.start, x.start) === 0 && compare(o.end, x.end) === 0 && o.protocol === x.protocol && o.startPort === x.startPort && o.endPort === x.endPort)) out.push(x);
    }
  }
  return out;
}

/** The initiator's check of the answer: every returned selector must lie inside what it proposed. */
export function within(answer: readonly TrafficSelectorEntry[], proposed: readonly TrafficSelectorEntry[]): boolean {
  return answer.length > 0 && answer.every((a) => proposed.some((p) => {
    const x = intersect(a, p);
    return x !== undefined && compare(x.start, a.start) === 0 && compare(x.end, a.end) === 0 && x.startPort === a.startPort && x.endPort === a.endPort;
  }));
}

/**
 * §2.9 for a peer given a virtual address: its TSi narrowed to the lease. A TSi that misses the lease
 * (a client proposing its current outer address, or any other one) is replaced by the lease with the
 * proposed protocol and ports, as strongSwan does for dynamic selectors; a family the peer did not
 * propose stays out.
 */
export function narrowToLease(proposed: readonly TrafficSelectorEntry[], lease: readonly string[]): { selectors: TrafficSelectorEntry[]; substituted: boolean } {
  const selectors: TrafficSelectorEntry[] = [];
  let substituted = false;
  for (const prefix of lease) {
    const allowed = tsFromPrefix(prefix);
    const sameFamily = proposed.filter((p) => p.type === allowed.type);
    const inside = narrow(sameFamily, [prefix]);
    if (inside.length) selectors.push(...inside);
    else if (sameFamily[0]) {
      const { protocol, startPort, endPort } = sameFamily[0];
      selectors.push({ ...allowed, protocol, startPort, endPort });
      substituted = true;
    }
  }
  return { selectors, substituted };
}
