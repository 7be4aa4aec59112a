// IKEv1 benchmark (issue 19): Main Mode (PSK) + Quick Mode setups per second against Postern's IKEv1
// engine and against strongSwan speaking IKEv1, same lab, same proposals, same client (Postern's
// engine as many initiators). Prints `bench ikev1 …` lines.
import { readFileSync } from 'node:fs';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';

const COUNT = Number(process.env['BENCH_IKEV1_COUNT'] ?? 500);
const PSK = 'bench-psk-0123456789abcdef';
const IKE = 'aes128-sha256-modp2048';
const ESP = 'aes128gcm16';
const A = '192.0.2.1'; // the initiators
const B = '192.0.2.2'; // the responder

async function responder(lab: Lab, kind: 'postern' | 'strongswan'): Promise<void> {
  if (kind === 'postern') {
    await LinePeer.spawn(lab, 'gwB', 'postern-ikev1-bench', 'postern-ikev1-peer.ts', {
      address: B,
      connections: [{ name: 'load', localId: 'gw-b.example', remoteId: 'gw-a.example', remoteAddress: A, psk: PSK, ike: [IKE], esp: [ESP], localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 0, unique: 'never' }],
      quiet: true,
    } satisfies Ikev1PeerConfig);
    return;
  }
  await StrongSwan.start(lab, 'gwB', {
    connections: {
      load: {
        version: 1, localAddrs: [B], remoteAddrs: [A], proposals: [IKE], unique: 'never',
        local: { auth: 'psk', id: 'gw-b.example' }, remote: { auth: 'psk', id: 'gw-a.example' },
        children: { lan: { localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], espProposals: [ESP] } },
      },
    },
    secrets: [{ kind: 'ike', ids: ['gw-a.example', 'gw-b.example'], secret: PSK }],
    charonOptions: ['block_threshold = 100000', 'cookie_threshold = 100000', 'init_limit_half_open = 0'],
  });
}

for (const kind of ['postern', 'strongswan'] as const) {
  const lab = Lab.create(twoSitesDirect);
  try {
    await responder(lab, kind);
    const { peer } = await LinePeer.spawn(lab, 'gwA', 'ikev1-load', '../../bench/ike-load-peer.ts', {
      version: 1, address: A, target: B, count: COUNT, concurrency: 8, psk: PSK, ike: IKE, esp: ESP, localId: 'gw-a.example', gatewayId: 'gw-b.example',
    });
    await peer.command('go');
    const line = await peer.next(Math.max(120_000, COUNT * 100)).catch((e: Error) => {
      throw new Error(`${e.message}; load generator log:\n${readFileSync(peer.daemon.logFile, 'utf8').slice(-2000)}`);
    });
    const r = JSON.parse(line.replace(/^result /, '')) as { up: number; failed: number; seconds: number; perSecond: number };
    console.log(`bench ikev1 setup ${kind} ${r.perSecond.toFixed(0)} per second (${r.up} of ${COUNT} up, ${r.failed} failed, ${r.seconds.toFixed(1)} s, Main Mode PSK MODP-2048 + Quick Mode)`);
  } finally {
    lab.teardown();
  }
}
