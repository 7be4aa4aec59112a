// The yardstick the PPP benchmarks (SSTP, L2TP) are read against: an IKEv2 site Postern ↔ Postern on
// the same topology (twoSitesDirect, lanA ⇄ lanB) in the same run, AES-GCM with ECP-256.
import { posternSite } from '../lab/ike-sites.ts';
import { startPosternIke } from '../lab/peers/postern-ike.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';

/** Brings the IKEv2 site up, runs `measure` while it carries lanA ⇄ lanB, and tears the lab down. */
export async function besideIkev2Site<T>(measure: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = Lab.create(twoSitesDirect);
  try {
    const over = { ike: ['aes128gcm16-prfsha256-ecp256'], esp: ['aes128gcm16'] };
    const [gwA] = await Promise.all([
      startPosternIke(lab, 'gwA', { address: '192.0.2.1', logLevel: 'warn', connections: [posternSite('192.0.2.2', { ...over, name: 'to-b', localId: 'gw-a.example', remoteId: 'gw-b.example', localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'] })], dataplane: { tunnelAddress: '10.1.0.1' } }),
      startPosternIke(lab, 'gwB', { address: '192.0.2.2', logLevel: 'warn', connections: [posternSite('192.0.2.1', { ...over, name: 'to-a' })], dataplane: { tunnelAddress: '10.2.0.1', hub: true } }),
    ]);
    if ((await gwA.command('initiate to-b')) !== 'ok') throw new Error('the IKEv2 tunnel did not come up');
    await gwA.waitEvent((e) => e['type'] === 'install-child');
    await waitUntil('the tunnel carries traffic', 10_000, async () => (await lab.exec('lanA', ['ping', '-c', '1', '-W', '1', '10.2.0.10'])).code === 0);
    return await measure(lab);
  } finally {
    lab.teardown();
  }
}
