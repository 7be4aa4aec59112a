// Issue 23: TLS 1.3 KeyUpdates in the middle of an iperf3 run lose nothing. `postern run` answers on
// gwB with each call's TLS in the driver; Postern's own dialer on gwA (TLS and IP in the driver too)
// updates its sending key every 300 records and asks the gateway to update its own (RFC 8446 §4.6.3),
// as the driver does at AES-GCM's record limit. UDP through the call both ways: every datagram arrives,
// the call never ends, and each KeyUpdate was answered. Both ends keep their records on OpenSSL: where
// the kernel has kTLS, Linux before 6.14 cannot rekey it (such a call ends on a KeyUpdate, by design).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startPostern } from '../helpers/postern-daemon.ts';
import { directSstpGatewayConfig } from '../helpers/sstp-lab.ts';
import { isRoot, hasBinary } from '../lab/command.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('iperf3') ? 'iperf3 is not installed' : false);
const PASSWORD = 'Key-Update-Pass-0123';
const RECORDS = 300;

interface Stats { keyUpdates?: { in: number; out: number }; ended: string | null }

t.test('KeyUpdates every 300 records during UDP runs through an SSTP call: nothing lost, each answered', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const config = directSstpGatewayConfig(1, 'load', PASSWORD);
  config.listeners.sstp.kernelTls = false;
  const gateway = await startPostern(lab, 'gwB', config, (log) => log.includes('SSTP listening'));
  const ca = readFileSync(join(gateway.stateDir, 'pki', 'ca.pem'), 'utf8');

  const { peer } = await LinePeer.spawn(lab, 'gwA', 'sstp-key-update', '../../bench/sstp-load-peer.ts', {
    host: '192.0.2.2', port: 443, servername: '192.0.2.2', ca, count: 1, concurrency: 1, userPrefix: 'load', password: PASSWORD,
    dataPath: 'native', tun: { name: 'sstpk0', route: '10.2.0.0/24' }, keyUpdateRecords: RECORDS, kernelTls: false,
  }, 60_000);
  const up = JSON.parse((await peer.command('go', 60_000)).replace(/^result /, '')) as { up: number; errors: Record<string, number> };
  t.equal(up.up, 1, `the call is up (${JSON.stringify(up.errors)})`);
  const stats = async (): Promise<Stats> => JSON.parse((await peer.command('stats')).replace(/^stats /, '')) as Stats;
  const before = await stats();
  t.ok(before.keyUpdates, 'the dialer runs its TLS in the driver');

  // 10 Mbit/s of 1,200-byte datagrams for 5 s: about 5,000 records, so some 15 KeyUpdates from the dialer.
  // 4-MB socket buffers: a receiver starved by a loaded machine must not drop what the call delivered.
  const udp = { seconds: 5, udpBandwidth: '10M', length: 1200, window: '4M' } as const;
  const out = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'gwA', udp);
  const mid = await stats();
  const sent = (mid.keyUpdates?.out ?? 0) - (before.keyUpdates?.out ?? 0);
  const answered = (mid.keyUpdates?.in ?? 0) - (before.keyUpdates?.in ?? 0);
  t.ok(sent >= 5, `dialer → gateway: the dialer updated its key ${sent} times during the run`);
  t.equal(out.lostPackets, 0, `and the gateway lost none of the datagrams (${out.mbitPerSecond.toFixed(1)} Mbit/s, ${out.lostPercent} % lost)`);
  t.ok(answered >= sent - 1, `the gateway answered each with its own KeyUpdate (${answered} of ${sent}; the last may still be on its way)`);

  // The gateway's datagrams to the dialer, on the keys those answers made; the dialer's ACK-less side
  // sends few records, so its updates come from iperf3's control traffic and the answers keep flowing.
  const back = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'gwA', { ...udp, reverse: true, port: 5202 });
  t.equal(back.lostPackets, 0, `gateway → dialer on the updated keys: none lost (${back.mbitPerSecond.toFixed(1)} Mbit/s)`);
  t.ok(back.mbitPerSecond > 5, 'the reverse run carried its traffic');
  const after = await stats();
  t.equal(after.ended, null, 'the call never ended');
  t.notMatch(gateway.log(), /KeyUpdate|TLS: the handshake or a record failed/, 'the gateway logged no TLS failure');
});
