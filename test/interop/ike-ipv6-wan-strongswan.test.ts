// IPv6 on the outside (issue 24): `postern run` on an IPv6-only WAN (no IPv4 address at all, as behind
// DS-Lite or CGNAT). A strongSwan remote-access client (EAP-MSCHAPv2, the gateway's certificate) and a
// strongSwan site peer (PSK) each connect over IPv6 and reach the IPv4 LAN behind the gateway; the
// ESP runs in the driver's UDP 4500 endpoint over IPv6 (strongSwan's libipsec always encapsulates;
// raw ESP over IPv6 is proven by the driver's C tests).
import { existsSync } from 'node:fs';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab, type TopologySpec } from '../lab/topology.ts';

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
const SITE_KEY = 'an-ipv6-site-key-0123456789';

t.test('postern run on an IPv6-only WAN: a remote-access client and a site connect over IPv6 and reach the LAN', { skip }, async (t) => {
  const lab = Lab.create(ipv6OnlyWan);
  t.teardown(() => lab.teardown());
  lab.execSync('branch', ['ip', 'addr', 'add', '10.3.0.1/32', 'dev', 'lo']); // the branch's own network
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'dhcp' }; // no IPv4 address comes: the WAN has only its IPv6 one
  config.system.lan = { interface: 'lan', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: 'vpn.example.com', sans: ['vpn.example.com'] };
  config.listeners.sstp.enabled = true; // on the IPv6 WAN address too (dual stack), proven below with openssl
  config.sites = [{ name: 'branch', protocol: 'ikev2', remote: '2001:db8:20::2', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.3.0.1/32'], auth: 'psk', psk: SITE_KEY, localId: 'gw.example.com', remoteId: 'branch.example.com', initiate: false, enabled: true }];
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
      },
      secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Correct-Horse-Battery-7' }],
    }),
    StrongSwan.start(lab, 'branch', {
      connections: {
        site: {
          localAddrs: ['2001:db8:20::2'], remoteAddrs: [GW], proposals: ['aes256-sha256-modp2048'],
          local: { auth: 'psk', id: 'branch.example.com' }, remote: { auth: 'psk', id: 'gw.example.com' },
          children: { net: { localTs: ['10.3.0.1/32'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
        },
      },
      secrets: [{ kind: 'ike', ids: ['branch.example.com', 'gw.example.com'], secret: SITE_KEY }],
    }),
  ]);

  const ra = await road.initiate('lan', 30);
  if (ra.code !== 0) t.fail(`the client could not connect over IPv6:\n${ra.stdout}\n${service.log().slice(-3000)}`);
  t.match(ra.stdout, /authentication of 'vpn\.example\.com' with [^\n]*successful/, 'the client authenticates the gateway over IPv6');
  t.match(ra.stdout, /installing new virtual IP 10\.10\.0\.1\b/, 'and gets a pool address');
  const raPing = await lab.exec('road', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal(raPing.code, 0, `the client reaches the LAN through ESP in UDP over IPv6:\n${raPing.stdout}`);

  const site = await branch.initiate('net', 20);
  if (site.code !== 0) t.fail(`the site could not connect over IPv6:\n${site.stdout}\n${service.log().slice(-3000)}`);
  const sitePing = await lab.exec('branch', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.3.0.1', '10.2.0.10']);
  t.equal(sitePing.code, 0, `the site's network reaches the LAN through ESP over IPv6:\n${sitePing.stdout}`);

  const [roadSas, branchSas] = await Promise.all([road.listSas(), branch.listSas()]);
  t.ok((roadSas[0]?.children[0]?.packetsIn ?? 0) >= 1, `the client's child SA carried the replies: ${JSON.stringify(roadSas)}`);
  t.ok((branchSas[0]?.children[0]?.packetsIn ?? 0) >= 1, `the site's child SA carried the replies: ${JSON.stringify(branchSas)}`);
  const health = JSON.parse((await lab.exec('gw', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.text()).then((b) => process.stdout.write(b))"])).stdout || '{}') as { subsystems?: Record<string, { state?: string; detail?: string; counters?: Record<string, number> }>; network?: unknown };
  t.match(health.subsystems?.['ikev2']?.counters, { 'ike.established': 2, 'dataplane.sas': 4 }, `/healthz: two IKE SAs and their children's SAs in the data plane: ${JSON.stringify(health.subsystems?.['ikev2']?.counters)}`);
  t.match(service.log(), /"peer":"alice","remote":"2001:db8:10::2:4500"[^\n]*"msg":"IKE SA up"/, 'alice\'s IKE SA is up from her IPv6 address, on UDP 4500');

  // SSTP on the IPv6 address: TLS with the gateway's certificate and the SSTP HTTP handshake answered.
  const request = 'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\\r\\nHost: vpn.example.com\\r\\nContent-Length: 18446744073709551615\\r\\nSSTPCORRELATIONID: {5E9D2A1C-0000-4000-8000-000000000024}\\r\\n\\r\\n';
  const sstp = await lab.exec('road', ['sh', '-c', `(printf '${request}'; sleep 1) | timeout 10 openssl s_client -connect '[${GW}]:443' -servername vpn.example.com 2>&1`], 15_000);
  t.match(sstp.stdout, /subject=CN\s?=\s?vpn\.example\.com/, `SSTP's TLS answers on the IPv6 WAN address with the gateway's certificate:\n${sstp.stdout.slice(-600)}`);
  t.match(sstp.stdout, /HTTP\/1\.1 200\r?\nContent-Length: 18446744073709551615/, 'and the SSTP HTTP handshake is answered over IPv6');
  t.match(health.network, { wan: { ipv4: [], ipv6: [GW] } }, '/healthz shows the WAN\'s IPv6 address (and no IPv4 one)');
  t.match(health.subsystems?.['ikev2'], { state: 'running', detail: new RegExp(`UDP \\[${GW}\\]:500 and :4500`) }, 'IKE says where it listens');
  t.match(health.subsystems?.['sstp'], { state: 'running', detail: new RegExp(`and \\[${GW}\\]:443`) }, 'SSTP listens on all IPv4 addresses and the IPv6 WAN address');
  t.notOk(service.log().includes(SITE_KEY) || service.log().includes('Correct-Horse-Battery-7'), 'no secret in the log');
});
