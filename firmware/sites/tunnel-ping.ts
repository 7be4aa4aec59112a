/** The site test's last step: a short ping into the remote network from the gateway's LAN address. */
import { execFile } from 'node:child_process';
import { parsePrefix, prefixContains } from '../util/ip.ts';

/** Source and target for a ping through a site: the LAN address when it is one of the site's local networks. */
export function pingPlan(lanAddress: string, localSubnets: readonly string[], remoteSubnets: readonly string[]): { source: string; target: string } | undefined {
  const source = lanAddress.split('/')[0] ?? '';
  const bytes = source.split('.').map(Number);
  if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) return undefined;
  const inside = localSubnets.some((s) => {
    const p = parsePrefix(s);
    return p !== undefined && prefixContains(p, Uint8Array.from(bytes));
  });
  const remote = remoteSubnets.map((s) => parsePrefix(s)).find((p) => p !== undefined && p.bytes.length === 4 && p.length <= 30);
  if (!inside || !remote) return undefined;
  const target = Uint8Array.from(remote.bytes);
  target[3] = (target[3] ?? 0) | 1; // the first host, usually the other gateway's LAN address
  return { source, target: target.join('.') };
}

/** iputils ping, two probes, bounded in time; never throws. */
export function tunnelPing(source: string, target: string): Promise<{ target: string; sent: number; received: number }> {
  return new Promise((resolve) => {
    execFile('ping', ['-c', '2', '-W', '1', '-i', '0.3', '-I', source, '--', target], { timeout: 6000 }, (_error, stdout) => {
      resolve({ target, sent: 2, received: Number(/(\d+) (?:packets )?received/.exec(stdout)?.[1] ?? 0) });
    });
  });
}
