import { readFileSync } from 'node:fs';

/**
 * The interface the IPv4 default route leaves by, from /proc/net/route (tab-separated: Iface,
 * Destination, Gateway, Flags, …, Mask, …; addresses in hex). The lowest metric wins. Never throws:
 * anything unreadable gives undefined.
 */
export function parseDefaultRoute(text: string): string | undefined {
  let best: { name: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [name, destination, , flags, , , metricText, mask] = f as [string, string, string, string, string, string, string, string];
    const up = (Number.parseInt(flags, 16) & 0x1) === 1; // RTF_UP
    const metric = Number.parseInt(metricText, 10);
    if (!up || destination !== '00000000' || mask !== '00000000' || !Number.isFinite(metric)) continue;
    if (!best || metric < best.metric) best = { name, metric };
  }
  return best?.name;
}

export function readDefaultRoute(path = '/proc/net/route'): string | undefined {
  try {
    return parseDefaultRoute(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
