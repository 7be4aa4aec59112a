// Issue 14: the IKEv2 defects another implementation found, each reproduced between two engines (the
// interop tests in test/interop/ike-interop-defects-strongswan.test.ts do it against strongSwan).
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { ikev1Refusal, IKEV1_NO_PROPOSAL_CHOSEN } from '../../../firmware/ike/engine/ikev1-refusal.ts';
import { narrowToLease } from '../../../firmware/ike/engine/narrowing.ts';
import { chooseChild } from '../../../firmware/ike/engine/child-sa.ts';
import { IkeSa } from '../../../firmware/ike/engine/ike-sa.ts';
import type { IkePayload } from '../../../firmware/ike/message.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import type { Proposal } from '../../../firmware/ike/payloads/sa.ts';
import { tsFromPrefix, tsToString } from '../../../firmware/ike/payloads/traffic-selector.ts';
import { parseProposal, selectProposal } from '../../../firmware/ike/proposals.ts';
import { DhId, EncrId, ProtocolId, TransformType } from '../../../firmware/ike/registry/numbers.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function pairOf(aOver: Partial<IkeConnection> & { esp?: string[]; ike?: string[] }, bOver: Partial<IkeConnection> & { esp?: string[]; ike?: string[] }, seed = 'd') {
  const a = new IkeEngine([connection('to-b', { remoteAddress: B, dpdSeconds: 0, ...aOver })], seededCrypto(`a${seed}`));
  const b = new IkeEngine([connection('to-a', { remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], dpdSeconds: 0, ...bOver })], seededCrypto(`b${seed}`));
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(1000);
  return pair;
}

const rekeyFrom = (pair: EnginePair, side: 'a' | 'b') => {
  const sa = pair.engines[side]!.sas.find((s) => s.state === 'established')!;
  pair.take(side, pair.engines[side]!.rekeyChild(sa.spiI, sa.children[0]!.inbound.spi, pair.now));
  pair.run(pair.now + 2000);
};

const espProposal = (dh: number[], number = 1): Proposal => ({
  number, protocolId: ProtocolId.ESP, spi: Uint8Array.of(1, 2, 3, 4),
  transforms: [{ type: TransformType.ENCR, id: EncrId.ENCR_AES_GCM_16, keyLength: 128 }, ...dh.map((id) => ({ type: TransformType.DH, id })), { type: TransformType.ESN, id: 0 }],
});

t.test('issue 14.1: a child proposal with a DH group is accepted in the connection\'s PFS groups, NONE when offered, and ignored in IKE_AUTH', async (t) => {
  const spec = [parseProposal('aes128gcm16', 'esp')!];
  const dhOf = (p: Proposal | undefined) => p?.transforms.find((x) => x.type === TransformType.DH)?.id;
  t.equal(selectProposal([espProposal([DhId.MODP_2048])], spec, ProtocolId.ESP), undefined, 'without PFS groups a DH offer is not silently accepted');
  t.equal(dhOf(selectProposal([espProposal([DhId.MODP_2048])], spec, ProtocolId.ESP, { pfsGroups: [DhId.MODP_2048] })?.proposal), DhId.MODP_2048, 'a group of the connection is taken');
  t.equal(selectProposal([espProposal([DhId.MODP_1024])], spec, ProtocolId.ESP, { pfsGroups: [DhId.MODP_2048] }), undefined, 'a group outside them is refused');
  t.equal(dhOf(selectProposal([espProposal([DhId.MODP_1024, DhId.NONE])], spec, ProtocolId.ESP, { pfsGroups: [DhId.MODP_2048] })?.proposal), DhId.NONE, 'NONE offered beside it: no PFS');
  t.equal(dhOf(selectProposal([espProposal([DhId.ECP_256, DhId.MODP_2048])], spec, ProtocolId.ESP, { pfsGroups: [DhId.ECP_256, DhId.MODP_2048], keGroup: DhId.MODP_2048 })?.proposal), DhId.MODP_2048, 'the KE\'s group preferred');
  t.equal(dhOf(selectProposal([espProposal([DhId.MODP_2048])], spec, ProtocolId.ESP, { ignoreDh: true })?.proposal), undefined, 'IKE_AUTH: the offered group is dropped');
  const required = [parseProposal('aes128gcm16-ecp256', 'esp')!];
  t.equal(selectProposal([espProposal([])], required, ProtocolId.ESP), undefined, 'a spec that names a group still requires PFS');
});

for (const [name, bEsp] of [['requires PFS with modp2048', ['aes128gcm16-modp2048']], ['requires PFS with ecp256', ['aes128gcm16-ecp256']]] as const) {
  t.test(`issue 14.1: a peer that ${name} keeps its tunnel across child rekeys from both ends`, async (t) => {
    // A: Postern defaults (ESP proposals without a group, PFS 'auto'); B: a gateway that requires PFS.
    const pair = pairOf({ ike: ['aes256-sha256-modp2048-ecp256'] }, { esp: [...bEsp], ike: ['aes256-sha256-modp2048-ecp256'] });
    t.equal(pair.of('a', 'install-child').length, 1, 'the first child comes up (IKE_AUTH carries no KE)');
    for (let round = 0; round < 3; round++) {
      rekeyFrom(pair, 'a');
      rekeyFrom(pair, 'b');
    }
    t.equal(pair.of('a', 'rekey-child').length, 6, 'six rekeys, three started by each side');
    t.notOk(pair.logs('b').some((l) => /NO_PROPOSAL_CHOSEN/.test(l)), 'never NO_PROPOSAL_CHOSEN');
    t.ok(pair.logs('b').some((l) => /CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) SA Nonce KE TSi TSr \]/.test(l)), 'A rekeys with a KE (PFS)');
    t.equal(pair.engines.a!.sas[0]!.children.length, 1, 'one child left on A');
  });
}

t.test('issue 14.1: PFS off sends no KE; a responder without PFS groups takes the offered NONE', async (t) => {
  const off = pairOf({ pfs: 'off' }, {});
  rekeyFrom(off, 'a');
  t.ok(off.logs('b').some((l) => /CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) SA Nonce TSi TSr \]/.test(l)), 'no KE with pfs off');
  t.equal(off.of('a', 'rekey-child').length, 1);
  const none = pairOf({}, { pfsGroups: [] });
  rekeyFrom(none, 'a');
  t.equal(none.of('a', 'rekey-child').length, 1, 'the rekey happens without PFS');
  t.ok(none.logs('a').some((l) => /CREATE_CHILD_SA response \d+ \[ SA Nonce TSi TSr \]/.test(l)), 'no KE in the answer');
});

t.test('issue 14.1: the responder says in a warn line why a child proposal was refused', async (t) => {
  const pair = pairOf({ esp: ['aes128gcm16-modp2048'] }, { esp: ['aes256-sha256'], pfsGroups: [] });
  t.equal(pair.of('a', 'install-child').length, 0, 'nothing in common');
  const line = pair.actions.b!.find((x) => x.type === 'log' && x.level === 'warn' && /child SA refused: NO_PROPOSAL_CHOSEN/.test(x.msg));
  t.ok(line && line.type === 'log' && /offered ENCR_AES_GCM_16_128\/NO_ESN; accepted ENCR_AES_CBC_256\/AUTH_HMAC_SHA2_256_128/.test(line.msg), `offered vs accepted: ${line?.type === 'log' ? line.msg : ''}`);
});

t.test('issue 14.3: a virtual-IP client proposing its own address as TSi gets its lease', async (t) => {
  const own = [tsFromPrefix('198.51.100.7/32')];
  t.same(narrowToLease(own, ['10.10.0.5/32']).selectors.map(tsToString), ['10.10.0.5/32'], 'its outer address is replaced by the lease');
  t.same(narrowToLease([tsFromPrefix('0.0.0.0/0')], ['10.10.0.5/32']).selectors.map(tsToString), ['10.10.0.5/32'], 'the whole range narrows to it');
  t.same(narrowToLease([tsFromPrefix('0.0.0.0/0')], ['10.10.0.5/32', 'fd00::5/128']).selectors.map(tsToString), ['10.10.0.5/32'], 'a family not proposed stays out');
  const udp = narrowToLease([tsFromPrefix('198.51.100.7/32', 17, 1701)], ['10.10.0.5/32']).selectors[0]!;
  t.same([udp.protocol, udp.startPort, udp.endPort], [17, 1701, 1701], 'protocol and ports are kept');

  // A responder SA that leased 10.10.0.5 to a client whose IKE_AUTH proposes TSi = its outer address.
  const conn = connection('ra', { localTs: ['0.0.0.0/0'], remoteTs: [], pool: 'clients' });
  const sa = new IkeSa(false, 1n, { address: B, port: 4500 }, { address: '198.51.100.7', port: 4500 }, 0, 'init-done');
  sa.connection = conn;
  sa.virtualIp = { pool: 'clients', identity: 'alice', address: { ipv4: '10.10.0.5', dns: [] } };
  const request: IkePayload[] = [
    { kind: 'SA', proposals: [espProposal([])] },
    { kind: 'TSi', selectors: [tsFromPrefix('198.51.100.7/32')] },
    { kind: 'TSr', selectors: [tsFromPrefix('0.0.0.0/0')] },
  ];
  const choice = chooseChild(sa, conn, request, conn.espProposals, 'auth');
  t.ok(choice.ok, `a child, not TS_UNACCEPTABLE (${choice.ok ? '' : choice.reason})`);
  t.same(choice.ok && choice.remote.map(tsToString), ['10.10.0.5/32'], 'narrowed to the lease');
});

t.test('issue 14.3: when nothing fits, the refusal names the offered selectors', async (t) => {
  const pair = pairOf({ localTs: ['172.16.0.0/16'] }, {});
  const line = pair.actions.b!.find((x) => x.type === 'log' && x.level === 'warn' && /TS_UNACCEPTABLE/.test(x.msg));
  t.ok(line && line.type === 'log' && /offered TSi 172\.16\.0\.0\/16 TSr 10\.2\.0\.0\/16; allowed 10\.1\.0\.0\/16 to 10\.2\.0\.0\/16/.test(line.msg), line?.type === 'log' ? line.msg : 'no line');
});

t.test('issue 14.4: a site peer that restarts and authenticates again without INITIAL_CONTACT replaces its old IKE SA', async (t) => {
  const pair = pairOf({}, {}, 'u');
  const first = pair.engines.b!.sas[0]!;
  // The peer restarts: a fresh engine with the same identity, no delete, no INITIAL_CONTACT (a reauth-like start).
  const a2 = new IkeEngine([connection('to-b', { remoteAddress: B, dpdSeconds: 0 })], seededCrypto('a-restarted'));
  const pair2 = new EnginePair(a2, pair.engines.b!);
  pair2.now = pair.now;
  const fresh = a2.initiate('to-b', { address: A, port: 500 }, pair.now);
  const sa = a2.sas[0]!;
  sa.reauthOf = 1n; // no INITIAL_CONTACT in its IKE_AUTH, as after a crash of a peer that omits it
  pair2.take('a', fresh);
  pair2.run(pair.now + 3000);
  const bSas = pair.engines.b!.sas.filter((s) => s.state === 'established');
  t.equal(bSas.length, 1, 'exactly one IKE SA left for the peer');
  t.not(bSas[0]!.spiI, first.spiI, 'the new one');
  t.ok(pair2.logs('b').some((l) => /deleting IKE SA [0-9a-f]+: replaced by IKE SA .* \(unique\)/.test(l)), 'the replacement is logged');
  t.equal(pair2.of('b', 'delete-child').length, 1, 'the old child left the data plane');

  const never = pairOf({}, { unique: 'never' }, 'n');
  const a3 = new IkeEngine([connection('to-b', { remoteAddress: B, dpdSeconds: 0 })], seededCrypto('a3'));
  const pair3 = new EnginePair(a3, never.engines.b!);
  pair3.now = never.now;
  const start = a3.initiate('to-b', { address: A, port: 500 }, never.now);
  a3.sas[0]!.reauthOf = 1n;
  pair3.take('a', start);
  pair3.run(never.now + 3000);
  t.equal(never.engines.b!.sas.filter((s) => s.state === 'established').length, 2, "unique 'never' keeps both");
});

t.test('issue 14.5: an IKEv1 Main Mode request gets a quick NO-PROPOSAL-CHOSEN and one warn line per source', async (t) => {
  const mm1 = Buffer.alloc(28 + 8);
  mm1.fill(0xab, 0, 8); // initiator cookie
  mm1[16] = 1; // SA payload next
  mm1[17] = 0x10; // version 1.0
  mm1[18] = 2; // Identity Protection (Main Mode)
  mm1.writeUInt32BE(mm1.length, 24);
  const reply = Buffer.from(ikev1Refusal(mm1, (n) => Buffer.alloc(n, 7))!);
  t.ok(reply, 'answered');
  t.same([...reply.subarray(0, 8)], [...mm1.subarray(0, 8)], 'the initiator cookie echoed');
  t.same([reply[16], reply[17], reply[18]], [11, 0x10, 5], 'an ISAKMP Informational carrying a Notification');
  t.equal(reply.readUInt16BE(28 + 10), IKEV1_NO_PROPOSAL_CHOSEN, 'NO-PROPOSAL-CHOSEN');
  t.equal(reply.readUInt32BE(24), reply.length, 'length field');
  t.equal(ikev1Refusal(reply, (n) => Buffer.alloc(n)), undefined, 'an informational is never answered (no loops)');
  const b = new IkeEngine([connection('to-a', { remoteAddress: A })], seededCrypto('b1'));
  const from = { address: '198.51.100.1', port: 500 };
  const first = b.handlePacket(mm1, from, { address: B, port: 500 }, 0);
  t.equal(first.filter((x) => x.type === 'send').length, 1, 'the notify goes back');
  t.ok(first.some((x) => x.type === 'log' && x.level === 'warn' && /IKEv1 request from 198\.51\.100\.1:500 refused/.test(x.msg)), 'a warn line naming the source');
  const again = b.handlePacket(mm1, from, { address: B, port: 500 }, 1000);
  t.equal(again.filter((x) => x.type === 'log' && x.level === 'warn').length, 0, 'retransmits within a minute: no more warn lines');
  t.equal(b.drops['ikev1'], 2, 'counted');
});

t.test('issue 14.6: an initiator whose KE fits a later acceptable proposal gets no INVALID_KE_PAYLOAD', async (t) => {
  // Windows-like: several proposals with one group each; ECP-256 second, its KE sent.
  const a = new IkeEngine([connection('to-b', { remoteAddress: B, ike: ['aes256-sha256-ecp256'] })], seededCrypto('a6'));
  const b = new IkeEngine([connection('to-a', { remoteAddress: A, ike: ['aes256-sha256-modp2048', 'aes256-sha256-ecp256'], localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b6'));
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(2000);
  t.notOk(pair.logs('a').some((l) => /INVALID_KE_PAYLOAD/.test(l)), 'one round trip');
  t.equal(pair.of('a', 'install-child').length, 1);
  const defaults = defaultConfig().listeners.ikev2.proposals.ike.join(' ');
  t.match(defaults, /aes\d+gcm16\S*ecp256/, `default IKE proposals have AES-GCM with ECP-256 (${defaults})`);
  t.match(defaults, /aes\d+gcm16\S*modp2048/, 'and AES-GCM with MODP-2048');
});
