// A Postern data plane with statically keyed SAs (the test-only manual keying path): started inside
// a lab host, it brings up an ESP-in-UDP tunnel and answers `stats` on stdin; SIGTERM stops it.
import { createInterface } from 'node:readline';
import { NativeSa, NativeTunnel, type TunnelFraming } from '../../../firmware/dataplane/native.ts';
import type { EspSuite } from '../../../firmware/dataplane/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';

export interface DpPeerConfig {
  /** Default esp-udp. */
  framing?: TunnelFraming;
  /** ESP transport mode between `local` and `remote` (tunnel mode otherwise). */
  transport?: boolean;
  greKey?: number;
  keepaliveMs?: number;
  /** Outbound SA lifetime in packets (soft, hard): expiry events are printed as `event {...}`. */
  outPacketLimits?: [number, number];
  suite: EspSuite;
  /** hex; AEAD suites: key then salt */
  outKey: string;
  inKey: string;
  outIntegrity?: string;
  inIntegrity?: string;
  outSpi: number;
  inSpi: number;
  tunnelAddress: string;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  remoteSelectors?: string[];
  localSelectors?: string[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as DpPeerConfig;
const sa = (spi: number, key: string, integrity: string | undefined, replayWindow: number, lifetime = {}) =>
  NativeSa.create({
    spi, suite: config.suite, esn: true, replayWindow, lifetime,
    encryptionKey: new Secret(Buffer.from(key, 'hex')),
    ...(integrity ? { integrityKey: new Secret(Buffer.from(integrity, 'hex')) } : {}),
  });
const limits = config.outPacketLimits;
const outbound = sa(config.outSpi, config.outKey, config.outIntegrity, 0, limits ? { softPackets: BigInt(limits[0]), hardPackets: BigInt(limits[1]) } : {});
const inbound = sa(config.inSpi, config.inKey, config.inIntegrity, 4096);
const common = {
  onEvent: (event: unknown) => process.stdout.write(`event ${JSON.stringify(event)}\n`),
  name: 'pst0', mtu: 1400, address: config.tunnelAddress, prefixLength: 32, local: config.local, remote: config.remote,
  remoteSelectors: config.remoteSelectors ?? [], localSelectors: config.localSelectors ?? [],
};
const framing = config.framing ?? 'esp-udp';
const tunnel = framing === 'gre'
  ? NativeTunnel.start({ ...common, framing, ...(config.greKey === undefined ? {} : { greKey: config.greKey }) })
  : NativeTunnel.start({ ...common, framing, outbound, inbound, keepaliveMs: config.keepaliveMs ?? 0, transport: config.transport === true });
process.stdout.write(`ready ${tunnel.name}\n`);

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
// Rekeying by hand, step by step: `rekey-add {outKey,inKey,outSpi,inSpi}`, `rekey-switch`, `rekey-drop SPI`.
let next: { outbound: NativeSa; inbound: NativeSa } | undefined;
let current = { outbound, inbound };
const commands: Record<string, (arg: string) => string> = {
  stats: () => `stats ${json({ tunnel: tunnel.stats(), outbound: current.outbound.counters(), inbound: current.inbound.counters() })}`,
  'rekey-add': (arg) => {
    const k = JSON.parse(arg) as Pick<DpPeerConfig, 'outKey' | 'inKey' | 'outSpi' | 'inSpi'>;
    next = { outbound: sa(k.outSpi, k.outKey, undefined, 0), inbound: sa(k.inSpi, k.inKey, undefined, 4096) };
    tunnel.addInbound(next.inbound);
    return 'ok rekey-add';
  },
  'rekey-switch': () => {
    if (!next) return 'error no new SAs';
    tunnel.setOutbound(next.outbound);
    current = next;
    return 'ok rekey-switch';
  },
  'rekey-drop': (arg) => `ok rekey-drop ${tunnel.removeInbound(Number(arg))}`,
};
createInterface({ input: process.stdin }).on('line', (line) => {
  const [name = '', ...rest] = line.split(' ');
  const command = commands[name];
  process.stdout.write(`${command ? command(rest.join(' ')) : `error unknown command ${name}`}\n`);
});
process.on('SIGTERM', () => {
  tunnel.stop();
  process.exit(0);
});
