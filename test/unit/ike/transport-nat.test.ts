// Transport mode across a NAT (RFC 7296 §2.23.1, issue 25's GRE over IPsec through a NAT): each side
// replaces a NATed host's selector address with the one the IKE SA runs between as it sees it,
// before narrowing and before checking the answer; the originals are kept on the child.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { loadOrCreatePki } from '../../../firmware/pki/pki-store.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { onHost, originalAddressesOf, substituteTransportSelectors, type NatView } from '../../../firmware/ike/engine/transport-nat.ts';
import { connectionsFromConfig, greSelectors } from '../../../firmware/ike/ike-connections.ts';
import { tsFromPrefix, tsToString } from '../../../firmware/ike/payloads/traffic-selector.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '172.16.1.2'; // gwA's own address, behind the NAT
const NAT = '203.0.113.1'; // what gwB sees of it
const B = '203.0.113.2';

const view = (over: Partial<NatView>): NatView => ({ initiator: false, natLocal: false, natRemote: false, local: { address: B }, remote: { address: NAT }, ...over });
const ts = (list: string[]) => list.map((p) => tsFromPrefix(p));
const text = (list: readonly Parameters<typeof tsToString>[0][]) => list.map(tsToString);

t.test('the substitution: observed addresses in, protocol and ports kept, nothing without a NAT', async (t) => {
  const tsi = ts([`${A}/32[47]`]);
  const tsr = ts([`${B}/32[47]`]);
  t.same(substituteTransportSelectors(view({}), tsi, tsr), { tsi, tsr }, 'no NAT: unchanged, no originals');
  const r = substituteTransportSelectors(view({ natRemote: true }), tsi, tsr);
  t.same(text(r.tsi), [`${NAT}/32[47]`], 'responder, initiator behind a NAT: TSi is the observed address');
  t.same(text(r.tsr), [`${B}/32[47]`], 'TSr unchanged');
  t.same(r.original, { tsi: A, tsr: B });
  t.same(originalAddressesOf(view({ natRemote: true }), r.original!), { local: B, remote: A }, 'the responder keeps the initiator\'s own address as the peer\'s');
  // The initiator undoes it on the answer: TSi back to its own address.
  const answer = substituteTransportSelectors(view({ initiator: true, natLocal: true, local: { address: A }, remote: { address: B } }), r.tsi, r.tsr);
  t.same(text(answer.tsi), [`${A}/32[47]`]);
  t.same(originalAddressesOf(view({ initiator: true }), answer.original!), { local: NAT, remote: B }, 'and learns the address it is seen at');
  // Both behind NATs: each side's own address in, the other's observed one.
  const both = substituteTransportSelectors(view({ natLocal: true, natRemote: true, local: { address: '172.16.2.2' } }), tsi, ts(['203.0.113.2/32[17/1701]']));
  t.same([text(both.tsi), text(both.tsr)], [[`${NAT}/32[47]`], ['172.16.2.2/32[17/1701]']]);
  t.same(text(substituteTransportSelectors(view({ natRemote: true }), ts(['2001:db8::1/128']), tsr).tsi), ['2001:db8::1/128'], 'another family is left alone');
  fc.assert(fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.boolean(), fc.boolean(), (peer, proposed, bits, protocol, initiator, natLocal, natRemote) => {
    const list = [{ ...tsFromPrefix(`${proposed}/${bits}`), protocol }];
    const out = substituteTransportSelectors(view({ initiator, natLocal, natRemote, remote: { address: peer } }), list, list);
    const peers = initiator ? out.tsr : out.tsi;
    // Never wider than one host once substituted, and the protocol is never touched.
    return [...out.tsi, ...out.tsr].every((x) => x.protocol === protocol) && (!natRemote || text(peers)[0] === `${peer}/32${protocol ? `[${protocol}]` : ''}`);
  }));
});

t.test('GRE over IPsec with the initiator behind a NAT: the transport child comes up with the observed address', async (t) => {
  const gre = (name: string, local: string, remote: string, dial?: string) => connection(name, { ...greSelectors(local, remote), mode: 'transport', ...(dial ? { remoteAddress: dial } : { remoteAddress: remote }), dpdSeconds: 0 });
  const a = new IkeEngine([gre('site:to-b', A, B, B)], seededCrypto('gre-a'));
  // gwB is configured with what it sees of gwA: the NAT's address.
  const b = new IkeEngine([gre('site:to-a', B, NAT)], seededCrypto('gre-b'));
  const pair = new EnginePair(a, b, { a: A, b: B });
  const mapped = new Map<number, number>();
  pair.nat = (p) => {
    if (p.from.address === A) {
      mapped.set(p.from.port + 10000, p.from.port);
      return { ...p, from: { address: NAT, port: p.from.port + 10000 } };
    }
    if (p.to.address === NAT) return { ...p, to: { address: A, port: mapped.get(p.to.port) ?? 0 } };
    return p;
  };
  pair.take('a', a.initiate('site:to-b', { address: A, port: 500 }, 0));
  pair.run(10_000);
  const ca = pair.of('a', 'install-child')[0]?.child;
  const cb = pair.of('b', 'install-child')[0]?.child;
  t.ok(ca && cb, `both installed the child: ${pair.logs('b').filter((l) => /TS|selector/.test(l)).join('; ')}`);
  t.match(cb, { mode: 'transport', localTs: [`${B}/32[47]`], remoteTs: [`${NAT}/32[47]`], encapsulation: { localPort: 4500, remotePort: 14500 }, originalAddresses: { local: B, remote: A } }, 'gwB: GRE to the address it sees, in UDP');
  t.match(ca, { mode: 'transport', localTs: [`${A}/32[47]`], remoteTs: [`${B}/32[47]`], encapsulation: { localPort: 4500, remotePort: 4500 }, originalAddresses: { local: NAT, remote: B } }, 'gwA: its own address, and it learned the NAT\'s');
  // A rekey goes through the same substitution.
  const sa = a.sas[0]!;
  pair.take('a', a.rekeyChild(sa.spiI, ca!.inbound.spi, pair.now));
  pair.run(pair.now + 5000);
  t.match(pair.of('b', 'rekey-child')[0]?.child, { remoteTs: [`${NAT}/32[47]`] }, 'the rekeyed child too');
});

t.test('without the substitution the responder would refuse; with it, a third address is still refused', async (t) => {
  // gwB configured for another public address than the one the peer comes from: TS_UNACCEPTABLE (the observed address rules, not the claimed one).
  const a = new IkeEngine([connection('site:to-b', { ...greSelectors(A, B), mode: 'transport', remoteAddress: B, dpdSeconds: 0 })], seededCrypto('gre-a2'));
  const b = new IkeEngine([connection('site:to-a', { ...greSelectors(B, '198.51.100.9'), mode: 'transport', remoteId: A, dpdSeconds: 0 })], seededCrypto('gre-b2'));
  const pair = new EnginePair(a, b, { a: A, b: B });
  pair.nat = (p) => (p.from.address === A ? { ...p, from: { address: NAT, port: p.from.port } } : p.to.address === NAT ? { ...p, to: { address: A, port: p.to.port } } : p);
  pair.take('a', a.initiate('site:to-b', { address: A, port: 500 }, 0));
  pair.run(10_000);
  t.equal(pair.of('b', 'install-child').length, 0, 'no child on gwB');
  t.ok(pair.logs('b').some((l) => l.includes('seen here as TSi 203.0.113.1/32[47]')), 'the refusal says what was seen');
});

t.test('selectors that follow the SA: a peer found by its ID at another address (its NAT\'s) gets GRE to where it is', async (t) => {
  const a = new IkeEngine([connection('site:to-b', { ...greSelectors(A, B), mode: 'transport', selectorsFollowSa: true, remoteAddress: B, localId: 'gwa.example', dpdSeconds: 0 })], seededCrypto('gre-a3'));
  const b = new IkeEngine([connection('site:to-a', { ...greSelectors(B, '198.51.100.9'), mode: 'transport', selectorsFollowSa: true, remoteId: 'gwa.example', dpdSeconds: 0 })], seededCrypto('gre-b3'));
  const pair = new EnginePair(a, b, { a: A, b: B });
  pair.nat = (p) => (p.from.address === A ? { ...p, from: { address: NAT, port: p.from.port } } : p.to.address === NAT ? { ...p, to: { address: A, port: p.to.port } } : p);
  pair.take('a', a.initiate('site:to-b', { address: A, port: 500 }, 0));
  pair.run(10_000);
  t.match(pair.of('b', 'install-child')[0]?.child, { remoteTs: [`${NAT}/32[47]`], localTs: [`${B}/32[47]`] }, 'the configured address is not what counts: the SA\'s is');
  t.match(pair.of('a', 'install-child')[0]?.child, { localTs: [`${A}/32[47]`], remoteTs: [`${B}/32[47]`] });
  t.equal(onHost('192.0.2.1/32[17/1701]', '198.51.100.7'), '198.51.100.7/32[17/1701]', 'protocol and port kept');
  t.equal(onHost('0.0.0.0/0[47]', '198.51.100.7'), '198.51.100.7/32[47]', 'narrowed to the host');
  t.equal(onHost('192.0.2.1/32[47]', '2001:db8::1'), '192.0.2.1/32[47]', 'another family: left as configured');
});

t.test('GRE over IPsec with certificates through a NAT: the configured site maps to certificate auth, and the exchange comes up', async (t) => {
  // The mapping of a GRE site with auth: certificate (connectionsFromConfig), on a PKI made for the test.
  const state = mkdtempSync(join(tmpdir(), 'grenat-pki-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const config = defaultConfig();
  config.sites = [{ name: 'to-b', protocol: 'gre', remote: B, localSubnets: [], remoteSubnets: [], auth: 'certificate', initiate: true, enabled: true, remoteId: 'gwb.example', gre: { address: '10.255.0.1/30', ipsec: true } }];
  const pki = loadOrCreatePki(state, config.certificates, createLogger({ sink: () => {} }));
  const conn = connectionsFromConfig(config, pki, A).find((c) => c.name === 'site:to-b');
  t.match(conn, { name: 'site:to-b', mode: 'transport', selectorsFollowSa: true, localTs: [`${A}/32[47]`], remoteTs: [`${B}/32[47]`], localAuth: 'certificate', peerAuth: 'certificate', remoteId: 'gwb.example' }, 'a transport child for GRE, signed with the gateway certificate');
  t.ok(conn?.certificate && (conn.trustedCas?.length ?? 0) >= 1, 'with its certificate and the CAs it trusts');
  t.notOk(connectionsFromConfig(config, pki).some((c) => c.name === 'site:to-b'), 'no WAN address yet: left out');

  // Two engines with certificates from one CA, gwA behind the NAT.
  const ca = testCa('GRE Test CA');
  const ia = identity(ca, 'gwa.example', ['gwa.example']);
  const ib = identity(ca, 'gwb.example', ['gwb.example']);
  const cert = { peerAuth: 'certificate' as const, trustedCas: [der(ca.certificatePem)], mode: 'transport' as const, selectorsFollowSa: true, dpdSeconds: 0 };
  const a = new IkeEngine([connection('site:to-b', { ...greSelectors(A, B), ...cert, ...ia.auth, remoteAddress: B, localId: 'gwa.example', remoteId: 'gwb.example' })], seededCrypto('gre-ca'));
  const b = new IkeEngine([connection('site:to-a', { ...greSelectors(B, NAT), ...cert, ...ib.auth, localId: 'gwb.example', remoteId: 'gwa.example' })], seededCrypto('gre-cb'));
  const pair = new EnginePair(a, b, { a: A, b: B });
  pair.nat = (p) => (p.from.address === A ? { ...p, from: { address: NAT, port: p.from.port + 10000 } } : p.to.address === NAT ? { ...p, to: { address: A, port: p.to.port - 10000 } } : p);
  pair.take('a', a.initiate('site:to-b', { address: A, port: 500 }, 0));
  pair.run(10_000);
  t.ok(pair.logs('b').some((l) => /IKE_AUTH request 1 \[ IDi .*CERT AUTH N\(USE_TRANSPORT_MODE\) SA TSi TSr/.test(l)), `certificates on the wire: ${pair.logs('b').filter((l) => /IKE_AUTH/.test(l)).join('; ')}`);
  t.match(pair.of('b', 'install-child')[0]?.child, { mode: 'transport', remoteTs: [`${NAT}/32[47]`], encapsulation: { localPort: 4500 } }, 'the GRE child through the NAT');
  t.match(pair.of('a', 'install-child')[0]?.child, { localTs: [`${A}/32[47]`], originalAddresses: { local: NAT } });
});
