/** The box's network interfaces as the API shows them: addresses from node:os, state and counters from sysfs. */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export interface InterfaceInfo {
  readonly name: string;
  readonly mac: string | undefined;
  readonly addresses: string[];
  readonly state: string;
  readonly rxBytes: number;
  readonly txBytes: number;
}

const sysfs = (name: string, file: string): string | undefined => {
  try {
    return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

export function readInterfaces(): InterfaceInfo[] {
  return Object.entries(networkInterfaces()).map(([name, list = []]) => ({
    name,
    mac: list.find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac,
    addresses: list.map((a) => `${a.address}/${a.cidr?.split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128)}`),
    state: sysfs(name, 'operstate') ?? 'unknown',
    rxBytes: Number(sysfs(name, 'statistics/rx_bytes') ?? 0),
    txBytes: Number(sysfs(name, 'statistics/tx_bytes') ?? 0),
  }));
}
