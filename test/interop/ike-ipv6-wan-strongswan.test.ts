// IPv6 on the outside (issue 24): `postern run` on an IPv6-only WAN (no IPv4 address at all, as behind
// DS-Lite or CGNAT). A strongSwan remote-access client (EAP-MSCHAPv2, the gateway's certificate) and a
// strongSwan site peer (certificates: the branch's from its own CA, which the gateway trusts; the
// gateway dials it by a DNS name that has an IPv4 and an IPv6 address, and takes the IPv6 one, the
// only family its WAN has) each connect over IPv6 and reach the IPv4 LAN behind the gateway, and the
// same branch host keys an IKEv1 site too (Main Mode, PSK, its IPv6 address as ID); the
// ESP runs in the driver's UDP 4500 endpoint over IPv6 (strongSwan's libipsec always encapsulates;
// raw ESP over IPv6 is proven Postern ↔ Postern and by the driver's C tests). SSTP answers TLS and its
// HTTP handshake on the IPv6 address. Then the WAN gains an IPv4 address: IKE binds both families, and
// a client dialled over IPv4 moves to IPv6 by MOBIKE when its IPv4 path goes, its traffic going on.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../firmware/pki/issue.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab, type TopologySpec } from '../lab/topology.ts';
import { waitUntil } from '../lab/peers/wait.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

/** road and branch reach the gateway through an IPv6 router; the gateway's LAN is IPv4. */
const ipv6OnlyWan: TopologySpec = {
  hosts: {
    road: { gateway: '2001:db8:10::1' },
    branch: { gateway: '2001:db8:20::1' },
    inet: { forwarding: true },
    gw: { forwarding: true, gateway: '2001:db8:1::1' },
    lan: { gateway: '10.2.0.1' },
  },
  links: {
    r: { a: ['road', '2001:db8:10::2/64'], b: ['inet', '2001:db8:10::1/64'] },
    b: { a: ['branch', '2001:db8:20::2/64'], b: ['inet', '2001:db8:20::1/64'] },
    wan: { a: ['inet', '2001:db8:1::1/64'], b: ['gw', '2001:db8:1::2/64'] },
    lan: { a: ['gw', '10.2.0.1/24'], b: ['lan', '10.2.0.10/24'] },
  },
};

const GW = '2001:db8:1::2';
const IKEV1_KEY = 'an-ikev1-over-ipv6-site-key-42';
/** The branch's own CA and certificate: the gateway trusts that CA for the site (certificates.trusted). */
const branchCa = createCa({ commonName: 'Branch CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });
const branchCert = issueServerCertificate(branchCa, { commonName: 'branch.example.com', sans: ['branch.example.com'], validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });

t.test('postern run on an IPv6-only WAN: a remote-access client and a site connect over IPv6 and reach the LAN; then dual stack and a MOBIKE move from IPv4 to IPv6', { skip }, async (t) => {
  const lab = Lab.create(ipv6OnlyWan);
  t.teardown(() => lab.teardown());
  lab.execSync('branch', ['ip', 'addr', 'add', '10.3.0.1/32', 'dev', 'lo']); // the branch's own network
  lab.execSync('branch', ['ip', 'addr', 'add', '10.3.0.2/32', 'dev', 'lo']); // and the one behind its IKEv1 site
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'dhcp' }; // no IPv4 address comes: the WAN has only its IPv6 one
  config.system.lan = { interface: 'lan', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: 'vpn.example.com', sans: ['vpn.example.com'] };
  config.listeners.sstp.enabled = true; // on the IPv6 WAN address too (dual stack), proven below with openssl
  config.sites = [{ name: 'branch', protocol: 'ikev2', remote: '2001:db8:20::2', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.3.0.1/32'], auth: 'certificate', remoteId: 'branch.example.com', initiate: true, enabled: true }];
  config.sites[0]!.remote = 'branch.lab.example';
  // IKEv1 over IPv6 (issue 24): the same branch host keys an IKEv1 site (Main Mode, PSK) for its second network.
  config.sites.push({ name: 'branch1', protocol: 'ikev1', remote: '2001:db8:20::2', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.3.0.2/32'], auth: 'psk', psk: IKEV1_KEY, initiate: false, enabled: true }); // by name (issue 24): /etc/hosts in gw's namespace gives it both families
  // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts for what runs in gw's namespace.
  const netnsEtc = join('/etc/netns', lab.ns('gw'));
  mkdirSync(netnsEtc, { recursive: true });
  t.teardown(() => rmSync(netnsEtc, { recursive: true, force: true }));
  writeFileSync(join(netnsEtc, 'hosts'), '127.0.0.1 localhost\n198.51.100.66 branch.lab.example\n2001:db8:20::2 branch.lab.example\n');
  config.certificates.trusted = [{ name: 'branch-ca', certificate: branchCa.certificatePem, revocation: 'off' }];
  const service = await startPostern(lab, 'gw', config, (log) => log.includes('IKEv2 listening') && log.includes('SSTP listening'));
  t.match(service.log(), new RegExp(`"address":"${GW}"[^\\n]*"msg":"IKEv2 listening"`), 'IKE binds the WAN\'s IPv6 address (there is no IPv4 one)');
  const caPem = (await lab.exec('gw', ['cat', `${service.stateDir}/pki/ca.pem`])).stdout;

  const [road, branch] = await Promise.all([
    StrongSwan.start(lab, 'road', {
      files: { 'x509ca/postern-ca.pem': caPem },
      connections: {
        vpn: {
          localAddrs: ['2001:db8:10::2'], remoteAddrs: [GW], proposals: ['aes256-sha256-ecp256'], vips: ['0.0.0.0'],
          local: { auth: 'eap-mschapv2', id: 'road.example.com', eapId: 'alice' }, remote: { auth: 'pubkey', id: 'vpn.example.com' },
          children: { lan: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
        },
        // For the dual-stack part: dialled over IPv4, then moved to IPv6 by MOBIKE.
        vpn4: {
          localAddrs: ['%any'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha256-ecp256'], vips: ['0.0.0.0'],
          local: { auth: 'eap-mschapv2', id: 'road.example.com', eapId: 'alice' }, remote: { auth: 'pubkey', id: 'vpn.example.com' },
          children: { lan4: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
        },
      },
      secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Correct-Horse-Battery-7' }],
    }),
    StrongSwan.start(lab, 'branch', {
      files: { 'x509ca/postern-ca.pem': caPem, 'x509/branch.pem': branchCert.certificatePem, 'private/branch.key': branchCert.keyPem.reveal() },
      connections: {
        site: {
          localAddrs: ['2001:db8:20::2'], remoteAddrs: [GW], proposals: ['aes256-sha256-modp2048'],
          local: { auth: 'pubkey', id: 'branch.example.com', certs: ['branch.pem'] }, remote: { auth: 'pubkey', id: 'vpn.example.com' },
          children: { net: { localTs: ['10.3.0.1/32'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
        },
        site1: {
          version: 1, localAddrs: ['2001:db8:20::2'], remoteAddrs: [GW], proposals: ['aes256-sha256-modp2048'],
          local: { auth: 'psk', id: '2001:db8:20::2' }, remote: { auth: 'psk', id: GW },
          children: { net1: { localTs: ['10.3.0.2/32'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256-sha256'] } },
        },
      },
      secrets: [{ kind: 'ike', ids: ['2001:db8:20::2', GW], secret: IKEV1_KEY }],
    }),
  ]);

  const ra = await road.initiate('lan', 30);
  if (ra.code !== 0) t.fail(`the client could not connect over IPv6:\n${ra.stdout}\n${service.log().slice(-3000)}`);
  t.match(ra.stdout, /authentication of 'vpn\.example\.com' with [^\n]*successful/, 'the client authenticates the gateway over IPv6');
  t.match(ra.stdout, /installing new virtual IP 10\.10\.0\.1\b/, 'and gets a pool address');
  const raPing = await lab.exec('road', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal(raPing.code, 0, `the client reaches the LAN through ESP in UDP over IPv6:\n${raPing.stdout}`);

  // The gateway dials the site by name: the IPv6 address (its WAN has no IPv4 one).
  await waitUntil('the gateway dialed the site by name', 30_000, () => /"connection":"site:branch"[^\n]*"msg":"IKE SA up"/.test(service.log()), () => service.log().slice(-3000));
  t.match(service.log(), /"site":"branch","name":"branch\.lab\.example","address":"2001:db8:20::2","addresses":1[^\n]*"msg":"site dialed by name"/, 'the name resolved; only its IPv6 address is of a family the WAN has');
  t.match(service.log(), /"connection":"site:branch","peer":"branch\.example\.com","remote":"2001:db8:20::2:(500|4500)"[^\n]*"msg":"IKE SA up"/, 'the site is up over IPv6');
  t.match(service.log(), /'CN=branch\.example\.com' signed with/, 'the gateway authenticated the site by its certificate, from the CA it trusts');
  await waitUntil('the branch has the child', 10_000, async () => (await branch.listSas()).some((sa) => sa.children.some((c) => c.state === 'INSTALLED')));
  // IKEv1 over IPv6: Main Mode and Quick Mode with the gateway's IKEv1 engine, ESP over IPv6.
  const v1 = await branch.initiate('net1', 20);
  if (v1.code !== 0) t.fail(`the IKEv1 site could not connect over IPv6:\n${v1.stdout.slice(-2000)}\n${service.log().slice(-2000)}`);
  const v1Ping = await lab.exec('branch', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.3.0.2', '10.2.0.10']);
  t.equal(v1Ping.code, 0, `the IKEv1 site's network reaches the LAN through ESP over IPv6:\n${v1Ping.stdout}`);
  const sitePing = await lab.exec('branch', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.3.0.1', '10.2.0.10']);
  t.equal(sitePing.code, 0, `the site's network reaches the LAN through ESP over IPv6:\n${sitePing.stdout}`);

  const [roadSas, branchSas] = await Promise.all([road.listSas(), branch.listSas()]);
  t.ok((roadSas[0]?.children[0]?.packetsIn ?? 0) >= 1, `the client's child SA carried the replies: ${JSON.stringify(roadSas)}`);
  t.ok((branchSas[0]?.children[0]?.packetsIn ?? 0) >= 1, `the site's child SA carried the replies: ${JSON.stringify(branchSas)}`);
  const health = JSON.parse((await lab.exec('gw', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.text()).then((b) => process.stdout.write(b))"])).stdout || '{}') as { subsystems?: Record<string, { state?: string; detail?: string; counters?: Record<string, number> }>; network?: unknown };
  t.match(health.subsystems?.['ikev2']?.counters, { 'ike.established': 2, 'ikev1.established': 1, 'dataplane.sas': 6 }, `/healthz: two IKEv2 SAs, the IKEv1 one, and their children's SAs in the data plane: ${JSON.stringify(health.subsystems?.['ikev2']?.counters)}`);
  t.match(service.log(), /"peer":"alice","remote":"2001:db8:10::2:4500"[^\n]*"msg":"IKE SA up"/, 'alice\'s IKE SA is up from her IPv6 address, on UDP 4500');

  // SSTP on the IPv6 address: TLS with the gateway's certificate and the SSTP HTTP handshake answered.
  const request = 'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\\r\\nHost: vpn.example.com\\r\\nContent-Length: 18446744073709551615\\r\\nSSTPCORRELATIONID: {5E9D2A1C-0000-4000-8000-000000000024}\\r\\n\\r\\n';
  const sstp = await lab.exec('road', ['sh', '-c', `(printf '${request}'; sleep 1) | timeout 10 openssl s_client -connect '[${GW}]:443' -servername vpn.example.com 2>&1`], 15_000);
  t.match(sstp.stdout, /subject=CN\s?=\s?vpn\.example\.com/, `SSTP's TLS answers on the IPv6 WAN address with the gateway's certificate:\n${sstp.stdout.slice(-600)}`);
  t.match(sstp.stdout, /HTTP\/1\.1 200\r?\nContent-Length: 18446744073709551615/, 'and the SSTP HTTP handshake is answered over IPv6');
  t.match(health.network, { wan: { ipv4: [], ipv6: [GW] } }, '/healthz shows the WAN\'s IPv6 address (and no IPv4 one)');
  t.match(health.subsystems?.['ikev2'], { state: 'running', detail: new RegExp(`UDP \\[${GW}\\]:500 and :4500`) }, 'IKE says where it listens');
  t.match(health.subsystems?.['sstp'], { state: 'running', detail: new RegExp(`and \\[${GW}\\]:443`) }, 'SSTP listens on all IPv4 addresses and the IPv6 WAN address');

  // Dual stack: the WAN gains an IPv4 address; IKE binds both families and tells MOBIKE clients of
  // the other one (ADDITIONAL_IP6_ADDRESS), so a client dialled over IPv4 moves to IPv6 and its traffic goes on.
  for (const [host, argv] of [
    ['inet', ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'wan']], ['gw', ['ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'wan']],
    ['inet', ['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'r']], ['road', ['ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'r']],
    ['road', ['ip', 'route', 'add', '192.0.2.0/24', 'via', '198.51.100.1']], ['gw', ['ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1']],
  ] as const) lab.execSync(host, argv);
  await waitUntil('IKE listens on both families', 20_000, () => new RegExp(`"address":"192\\.0\\.2\\.2","address6":"${GW}"[^\\n]*"msg":"IKEv2 listening"`).test(service.log()));
  const v4 = await road.initiate('lan4', 30);
  if (v4.code !== 0) t.fail(`the client could not connect over IPv4:\n${v4.stdout.slice(-1500)}\n${service.log().slice(-2000)}`);
  t.match(v4.stdout, /N\(ADD_6_ADDR\)/, 'the gateway announces its IPv6 address to the IPv4 client');
  const vip = /installing new virtual IP (10\.10\.0\.\d+)/.exec(v4.stdout)?.[1] ?? '10.10.0.1';
  t.equal((await lab.exec('road', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', vip, '10.2.0.10'])).code, 0, 'over IPv4 first');
  lab.execSync('road', ['ip', 'addr', 'del', '198.51.100.2/24', 'dev', 'r']); // the client loses its IPv4 path
  await waitUntil('Postern follows the client to IPv6 (MOBIKE)', 15_000, () => /moved to 2001:db8:10::2:4500 \(MOBIKE\)/.test(service.log()));
  const after = await lab.exec('road', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', vip, '10.2.0.10']);
  t.equal(after.code, 0, `after the move to IPv6 the client still reaches the LAN, on the same IKE SA:\n${after.stdout}`);
  // The IKE SA moved; strongSwan's libipsec cannot move its ESP SAs in place and installs the child afresh.
  const moved = (await road.listSas()).find((sa) => sa.name === 'vpn4');
  t.equal(moved?.state, 'ESTABLISHED', 'the IKE SA dialled over IPv4 is the one still up');
  t.ok(moved?.children.some((c) => c.state === 'INSTALLED' && c.packetsIn >= 3), `and a child of it carried the replies over IPv6: ${JSON.stringify(moved)}`);
  t.equal(service.log().split('\n').filter((l) => l.includes('"peer":"alice"') && l.includes('"msg":"IKE SA up"')).length, 2, 'no new IKE SA for alice: one over IPv6 before, one over IPv4 that moved');
  t.notOk(service.log().includes('Correct-Horse-Battery-7'), 'no secret in the log');
});
