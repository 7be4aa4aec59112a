// A renewed gateway certificate taken without a restart (issue 16): the engine's connections are
// replaced; the IKE SA already up keeps running (DPD and a child rekey after the swap), the next
// IKE_AUTH is signed with the new certificate and carries its chain.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { gatewayCertificate, pemCertificates } from '../../../firmware/ike/ike-connections.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const ca = testCa('Swap Test CA');
const caDer = der(ca.certificatePem);

function gatewayConnection(gw: ReturnType<typeof identity>): IkeConnection {
  return connection('remote-access', { localId: 'vpn.example', ...gw.auth, peerAuth: 'certificate', trustedCas: [caDer], localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], dpdSeconds: 30, rekeySeconds: 120 });
}

function client(name: string): IkeConnection {
  const me = identity(ca, name, [name]);
  return connection(name, { remoteAddress: '192.0.2.2', localId: name, remoteId: 'vpn.example', peerAuth: 'certificate', trustedCas: [caDer], ...me.auth, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], dpdSeconds: 30, rekeySeconds: 120 });
}

t.test('the engine swaps its gateway certificate: the old SA lives on, the next one gets the new certificate', async (t) => {
  const first = identity(ca, 'vpn.example', ['vpn.example']);
  const second = identity(ca, 'vpn.example', ['vpn.example']);
  const gw = new IkeEngine([gatewayConnection(first)], seededCrypto('gw'));
  const cl = new IkeEngine([client('one.example'), client('two.example')], seededCrypto('cl'));
  const pair = new EnginePair(cl, gw);
  pair.take('a', cl.initiate('one.example', { address: '192.0.2.1', port: 500 }, 0));
  pair.run(2_000);
  const one = cl.sas.find((s) => s.connection?.name === 'one.example');
  t.equal(one?.state, 'established');
  t.equal(one?.peerCertificate?.certificate.serialNumber, new X509Certificate(first.issued.certificatePem).serialNumber, 'the first SA saw the first certificate');

  gw.replaceConnections([gatewayConnection(second)]);
  pair.take('a', cl.initiate('two.example', { address: '192.0.2.1', port: 500 }, pair.now));
  // Past a child rekey (120 s) and several DPD rounds of the first SA.
  pair.run(pair.now + 400_000);
  const two = cl.sas.find((s) => s.connection?.name === 'two.example');
  t.equal(two?.state, 'established');
  t.equal(two?.peerCertificate?.certificate.serialNumber, new X509Certificate(second.issued.certificatePem).serialNumber, 'the new SA saw the new certificate');
  t.equal(one?.state, 'established', 'the first SA is still up on the client');
  t.equal(gw.sas.filter((s) => s.state === 'established').length, 2, 'the gateway holds both');
  t.ok(pair.of('a', 'rekey-child').length >= 2, 'children of both SAs rekeyed after the swap');
  t.equal(pair.of('a', 'ike-down').length + pair.of('b', 'ike-down').length, 0, 'nothing went down');
});

t.test('gatewayCertificate: the leaf, and what follows it in the file as the chain sent in further CERT payloads', async (t) => {
  const gw = identity(ca, 'vpn.example', ['vpn.example']);
  const bundle = `${gw.issued.certificatePem}\n${ca.certificatePem}`;
  const cert = gatewayCertificate({ ca, server: { certificatePem: bundle, keyPem: gw.issued.keyPem } });
  t.same(Buffer.from(cert.der), der(gw.issued.certificatePem));
  t.same(cert.chain?.map((c) => Buffer.from(c)), [caDer]);
  t.equal(gatewayCertificate({ ca, server: { certificatePem: gw.issued.certificatePem, keyPem: gw.issued.keyPem } }).chain, undefined, 'a lone leaf has no chain');
  t.same(pemCertificates('no certificate here'), []);
  t.throws(() => gatewayCertificate({ ca, server: { certificatePem: 'nothing', keyPem: gw.issued.keyPem } }), /holds no certificate/);
});
