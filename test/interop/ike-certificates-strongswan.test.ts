// IKEv2 interop, scenarios 2 and 3 of issue 4: certificates from Postern's own CA. Site-to-site
// with certificates both ways (RSA and ECDSA), and remote access the way the Windows client does
// it: IKE aes256-sha1-modp1024, ESP aes256-sha1, EAP-MSCHAPv2 with its IP as identity, the gateway
// authenticated by its certificate.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../firmware/pki/issue.ts';
import type { KeyType } from '../../firmware/pki/keys.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { ikeStatus, startPosternIke } from '../lab/peers/postern-ike.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

// Seven scenarios, each starting its own peers: give the file more than tap's default two minutes.
t.setTimeout(300_000);

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

function pki(keyType: KeyType) {
  const ca = createCa({ commonName: 'Postern Lab CA', validityDays: 30, keyType, now: new Date() });
  const issue = (name: string, sans: string[]) => issueServerCertificate(ca, { commonName: name, sans, validityDays: 30, now: new Date(), keyType });
  return { ca, a: issue('a.example', ['a.example']), b: issue('b.example', ['b.example']), gw: issue('vpn.example.com', ['vpn.example.com', '192.0.2.2']) };
}

// RSA-3072 makes IKE_AUTH bigger than 1280 bytes both ways: strongSwan and Postern fragment it (RFC 7383).
for (const keyType of ['rsa-3072', 'ecdsa-p256'] as const) {
  t.test(`site-to-site with certificates from Postern's CA (${keyType}), each side initiating`, { skip }, async (t) => {
    const p = pki(keyType);
    for (const initiator of ['strongswan', 'postern'] as const) {
      const lab = Lab.create(twoSitesDirect);
      t.teardown(() => lab.teardown());
      const [gwA, gwB] = await Promise.all([
        StrongSwan.start(lab, 'gwA', {
          files: { 'x509ca/ca.pem': p.ca.certificatePem, 'x509/a.pem': p.a.certificatePem, 'private/a.key': p.a.keyPem.reveal() },
          connections: {
            site: {
              localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha256-modp2048'],
              local: { auth: 'pubkey', id: 'a.example', certs: ['a.pem'] }, remote: { auth: 'pubkey', id: 'b.example' },
              children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
            },
          },
        }),
        startPosternIke(lab, 'gwB', {
          address: '192.0.2.2', dataplane: { tunnelAddress: '10.2.0.1' },
          connections: [{
            name: 'to-a', localId: 'b.example', remoteId: 'a.example', remoteAddress: '192.0.2.1', psk: 'unused-unused-unused',
            localAuth: 'certificate', peerAuth: 'certificate', certPem: p.b.certificatePem, keyPem: p.b.keyPem.reveal(), caPems: [p.ca.certificatePem],
            ike: ['aes256-sha256-modp2048'], esp: ['aes256gcm16'], localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 30,
          }],
        }),
      ]);
      if (initiator === 'strongswan') {
        const r = await gwA.initiate('net');
        if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n${gwA.log(60)}`);
        t.match(r.stdout, /authentication of 'b\.example' with (RSA|ECDSA|.*signature)[^\n]* successful/, `${initiator}: strongSwan verified Postern's signature`);
      } else {
        t.equal(await gwB.command('initiate to-a'), 'ok');
      }
      const up = await gwB.waitEvent((e) => e['type'] === 'install-child');
      t.ok(up, `${initiator} initiated: child installed on Postern`);
      t.match(readFileSync(gwB.daemon.logFile, 'utf8'), /authenticated 'a\.example' with a certificate|IKE_AUTH response 1 \[ IDr CERT AUTH/, 'Postern checked strongSwan\'s certificate');
      const ping = await lab.exec('lanA', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.2.0.10']);
      t.equal(ping.code, 0, `${initiator}: LAN to LAN:\n${ping.stdout}`);
      if (keyType === 'rsa-3072') {
        const log = gwA.log(400);
        t.match(log, /splitting IKE message \(\d+ bytes\) into \d+ fragments/, `${initiator}: strongSwan sent IKE_AUTH in fragments`);
        t.match(log, /received fragment #1 of \d+/, `${initiator}: and received Postern's fragments`);
      }
      lab.teardown();
    }
  });
}

/** The gateway's default proposals (config defaults): every client family must find its own. */
const GATEWAY_IKE = defaultConfig().listeners.ikev2.proposals.ike;
const GATEWAY_ESP = defaultConfig().listeners.ikev2.proposals.esp;

const CLIENTS = [
  { name: 'Windows', ike: 'aes256-sha1-modp1024', esp: 'aes256-sha1', cipher: /IKE:AES_CBC_256\/HMAC_SHA1_96\/PRF_HMAC_SHA1\/MODP_1024/ },
  { name: 'Apple (MODP-2048)', ike: 'aes256-sha256-modp2048', esp: 'aes256-sha256', cipher: /IKE:AES_CBC_256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/MODP_2048/ },
  { name: 'Apple (ECP-256)', ike: 'aes256-sha256-ecp256', esp: 'aes256-sha256', cipher: /IKE:AES_CBC_256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/ECP_256/ },
  { name: 'strongSwan Android app', ike: 'aes256gcm16-prfsha256-curve25519', esp: 'aes256gcm16', cipher: /IKE:AES_GCM_16_256\/PRF_HMAC_SHA2_256\/CURVE_25519/ },
] as const;

for (const client of CLIENTS) t.test(`remote access as ${client.name} does it: ${client.ike}, EAP-MSCHAPv2, the gateway authenticated by certificate`, { skip }, async (t) => {
  const p = pki('rsa-2048');
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const [road, gw] = await Promise.all([
    StrongSwan.start(lab, 'gwA', {
      files: { 'x509ca/ca.pem': p.ca.certificatePem },
      connections: {
        vpn: {
          localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: [client.ike], vips: ['0.0.0.0'],
          local: { auth: 'eap-mschapv2', id: '192.0.2.1', eapId: 'alice' }, remote: { auth: 'pubkey', id: '192.0.2.2' },
          children: { lan: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: [client.esp] } },
        },
      },
      secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Correct-Horse-7' }],
    }),
    startPosternIke(lab, 'gwB', {
      address: '192.0.2.2', dataplane: { tunnelAddress: '10.2.0.1', hub: true }, users: { alice: 'Correct-Horse-7' },
      pools: { ra: { prefix: '10.10.0.0/24', dns: ['10.2.0.53'] } },
      connections: [{
        name: 'ra', localId: '192.0.2.2', psk: 'unused-unused-unused', localAuth: 'certificate', certPem: p.gw.certificatePem, keyPem: p.gw.keyPem.reveal(),
        peerAuth: 'eap-mschapv2', ike: [...GATEWAY_IKE], esp: [...GATEWAY_ESP], localTs: ['10.2.0.0/24'], remoteTs: [], mode: 'tunnel', dpdSeconds: 30, pool: 'ra',
      }],
    }),
  ]);
  const r = await road.initiate('lan');
  if (r.code !== 0) t.fail(`the client could not connect:\n${r.stdout}\n${road.log(60)}`);
  t.match(r.stdout, /authentication of '192\.0\.2\.2' with RSA[^\n]*successful/, 'the client verified the gateway certificate from Postern\'s CA');
  t.match(r.stdout, /EAP method EAP_MSCHAPV2 succeeded, MSK established/);
  t.match(r.stdout, client.cipher, `the gateway's default proposals chose ${client.ike}`);
  t.match(r.stdout, /installing new virtual IP 10\.10\.0\.1\b/);
  const ping = await lab.exec('gwA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal(ping.code, 0, `the client reaches the LAN:\n${ping.stdout}`);
  t.equal((await ikeStatus(gw)).sas.length, 1);
});

t.test('a certificate from a CA Postern does not trust is refused with a clear line, nothing half-open', { skip }, async (t) => {
  const p = pki('rsa-2048');
  const stranger = createCa({ commonName: 'Somebody Else CA', validityDays: 30, keyType: 'rsa-2048', now: new Date() });
  const forged = issueServerCertificate(stranger, { commonName: 'a.example', sans: ['a.example'], validityDays: 30, now: new Date(), keyType: 'rsa-2048' });
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', {
      files: { 'x509ca/ca.pem': p.ca.certificatePem, 'x509ca/stranger.pem': stranger.certificatePem, 'x509/a.pem': forged.certificatePem, 'private/a.key': forged.keyPem.reveal() },
      connections: {
        site: {
          localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha256-modp2048'],
          local: { auth: 'pubkey', id: 'a.example', certs: ['a.pem'] }, remote: { auth: 'pubkey', id: 'b.example' },
          children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
        },
      },
    }),
    startPosternIke(lab, 'gwB', {
      address: '192.0.2.2',
      connections: [{
        name: 'to-a', localId: 'b.example', remoteId: 'a.example', psk: 'unused-unused-unused', localAuth: 'certificate', peerAuth: 'certificate',
        certPem: p.b.certificatePem, keyPem: p.b.keyPem.reveal(), caPems: [p.ca.certificatePem],
        ike: ['aes256-sha256-modp2048'], esp: ['aes256gcm16'], localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 30,
      }],
    }),
  ]);
  const r = await gwA.initiate('net', 5);
  t.not(r.code, 0, 'strongSwan is refused');
  t.match(r.stdout, /AUTHENTICATION_FAILED/, 'with AUTHENTICATION_FAILED');
  t.match(readFileSync(gwB.daemon.logFile, 'utf8'), /certificate 'CN=a\.example' is not signed by a trusted CA for peer 'a\.example'/, 'Postern says why');
  t.same((await ikeStatus(gwB)).sas, [], 'nothing half-open');
});
