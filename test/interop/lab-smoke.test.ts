// The lab's smoke test: two real strongSwan gateways (PSK, AES-GCM), one behind a NAT router,
// link two LANs; a host on one LAN pings a host on the other, through the tunnel only.
import { existsSync } from 'node:fs';
import t from 'tap';
import { hasBinary, isRoot, processGone, runSync } from '../lab/command.ts';
import { StrongSwan, CHARON } from '../lab/peers/strongswan.ts';
import type { SwanConnection } from '../lab/peers/strongswan-config.ts';
import { twoSitesBehindNat } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

const PSK = 'lab-smoke-pre-shared-key-0123456789';
const site = (local: string, remote: string, localAddr: string, remoteAddr: string, localTs: string, remoteTs: string): SwanConnection => ({
  localAddrs: [localAddr],
  remoteAddrs: [remoteAddr],
  proposals: ['aes128gcm16-prfsha256-ecp256'],
  local: { auth: 'psk', id: local },
  remote: { auth: 'psk', id: remote },
  children: { net: { localTs: [localTs], remoteTs: [remoteTs], espProposals: ['aes128gcm16-ecp256'] } },
});

t.test('lanA pings lanB through two strongSwan gateways across a NAT, in under 10 s', { skip }, async (t) => {
  const started = Date.now();
  const lab = Lab.create(twoSitesBehindNat);
  t.teardown(() => lab.teardown());
  const secrets = [{ kind: 'ike' as const, ids: ['gwA', 'gwB'], secret: PSK }];
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', { connections: { site: site('gwA', 'gwB', '172.16.1.2', '203.0.113.2', '10.1.0.0/24', '10.2.0.0/24') }, secrets }),
    // gwB sees gwA only as the NAT's address: it accepts from anywhere and authenticates by PSK.
    StrongSwan.start(lab, 'gwB', { connections: { site: site('gwB', 'gwA', '203.0.113.2', '%any', '10.2.0.0/24', '10.1.0.0/24') }, secrets }),
  ]);

  const before = await lab.exec('lanA', ['ping', '-c', '1', '-W', '1', '10.2.0.10']);
  t.not(before.code, 0, 'no path between the LANs without the tunnel');

  const up = await gwA.initiate('net');
  t.equal(up.code, 0, `initiated:\n${up.stdout}\n${gwA.log()}`);
  const ping = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping.code, 0, `ping through the tunnel:\n${ping.stdout}${ping.stderr}\n${gwB.log()}`);

  const [sa] = (await gwB.listSas()).filter((s) => s.name === 'site');
  t.equal(sa?.state, 'ESTABLISHED', 'IKE_SA established on the responder');
  t.equal(sa?.children[0]?.state, 'INSTALLED', 'child SA installed');
  t.ok((sa?.children[0]?.packetsIn ?? 0) >= 3, `the pings crossed the SA (${sa?.children[0]?.packetsIn} packets in)`);
  t.match(gwB.log(200), /NAT|nat/, 'the responder saw the NAT');
  t.ok(Date.now() - started < 10_000, `whole scenario in ${Date.now() - started} ms`);

  const namespaces = lab.namespaces();
  const pids = lab.pids();
  lab.teardown();
  const left = runSync(['ip', 'netns', 'list']).stdout;
  t.notOk(namespaces.some((ns) => left.includes(ns)), 'every namespace removed');
  t.ok(pids.length >= 2 && pids.every(processGone), 'every process gone');
});
