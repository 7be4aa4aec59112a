// What the IKEv1 engine logs (issue 19): one line per message sent and received, naming its
// payloads, and never a key. A whole life is run on both ends — Main Mode, Quick Mode with PFS,
// a child rekey, DPD, an Aggressive Mode, a wrong pre-shared key, the deletes — and every log
// record (text and fields) is searched for the pre-shared key and every key both ends derived,
// in hex, base64 and raw bytes.
import t, { type Test } from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { decodeIsakmpMessage } from '../../../firmware/ikev1/message.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const PSK = 'a-site-key-nobody-may-read-7c1f';
type Over = Partial<IkeConnection> & { ike?: string[]; esp?: string[] };

function pair(overA: Over = {}, overB: Over = {}) {
  const base: Over = { psk: new Secret(PSK), ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha256-modp2048'], dpdSeconds: 10, rekeySeconds: 60 };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localId: 'a.example', remoteId: 'b.example', localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('la'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localId: 'b.example', remoteId: 'a.example', localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('lb'));
  const p = new Ikev1Pair(a, b, { a: A, b: B });
  p.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  return p;
}

/** Every spelling a key could leak in: hex, base64 and its bytes as latin1 text. */
const spellings = (key: Uint8Array): string[] => [Buffer.from(key).toString('hex'), Buffer.from(key).toString('base64'), Buffer.from(key).toString('latin1')];

/** Everything both engines emitted as log records, as text with their fields. */
const records = (p: Ikev1Pair): string[] => (['a', 'b'] as const).flatMap((s) => p.of(s, 'log').map((l) => `${l.msg} ${JSON.stringify(l.fields ?? {})}`));

/** The keys both ends hold: phase 1 and every child's. */
function secretsOf(p: Ikev1Pair): Uint8Array[] {
  const phase1 = (['a', 'b'] as const).flatMap((s) => p.engines[s].sas.flatMap((sa) => {
    const k = sa.crypto?.keys;
    return k ? [k.skeyid, k.skeyidD, k.skeyidA, k.skeyidE, k.encryptionKey] : [];
  }));
  const installed = (['a', 'b'] as const).flatMap((s) => [...p.of(s, 'install-child'), ...p.of(s, 'rekey-child')]);
  const children = installed.flatMap(({ child }) => [child.inbound, child.outbound].flatMap((sa) => [sa.encryption.reveal(), ...(sa.integrity ? [sa.integrity.reveal()] : [])]));
  return [...phase1, ...children];
}

function noSecretIn(t: Test, p: Ikev1Pair, what: string): void {
  const text = records(p).join('\n');
  const keys = secretsOf(p);
  t.ok(keys.length >= 5, `${what}: ${keys.length} keys to look for`);
  t.notOk(text.includes(PSK), `${what}: the pre-shared key is in no log record`);
  const leaked = keys.filter((k) => spellings(k).some((s) => text.includes(s)));
  t.equal(leaked.length, 0, `${what}: none of the ${keys.length} derived keys is in a log record`);
}

t.test('a whole life on both ends: every message has its line, no key is logged', async (t) => {
  const p = pair();
  p.run(200_000); // Main Mode, Quick Mode with PFS, two child rekeys, DPD rounds
  t.ok(p.of('a', 'rekey-child').length >= 2, 'children were rekeyed');
  p.take('a', p.engines.a.terminate(p.engines.a.sas.find((s) => s.state === 'established')!.ckyI, p.now));
  p.run(p.now + 10_000);
  t.ok(p.of('b', 'ike-down').length >= 1, 'and deleted');
  // One line per message: every packet put on the wire has its `send` line, every one delivered its `recv`.
  for (const side of ['a', 'b'] as const) {
    const address = p.addresses[side];
    const sent = p.wireLog.filter((x) => x.from.address === address).length;
    const sendLines = p.logs(side).filter((l) => /^send (Main Mode|Quick Mode|Informational)\*? \[[A-Z0-9(), -]+\] to /.test(l)).length;
    t.equal(sendLines, sent, `${side}: ${sent} messages sent, one line each naming the payloads`);
    const recvLines = p.logs(side).filter((l) => /^recv (Main Mode|Quick Mode|Informational) \[[A-Z0-9(), -]+\] from /.test(l)).length;
    const delivered = p.wireLog.filter((x) => x.to.address === address && decodeIsakmpMessage(x.packet).ok).length;
    t.ok(recvLines >= delivered - 1 && recvLines <= delivered, `${side}: ${delivered} messages received, ${recvLines} recv lines (a message after the delete may go unread)`);
  }
  noSecretIn(t, p, 'Main Mode, Quick Mode with PFS, rekeys, DPD, deletes');
});

t.test('Aggressive Mode and a wrong pre-shared key: the refusals name no key either', async (t) => {
  const aggressive = pair({ aggressive: true }, { aggressive: true });
  aggressive.run(5_000);
  t.equal(aggressive.of('b', 'install-child').length, 1, 'Aggressive Mode came up');
  noSecretIn(t, aggressive, 'Aggressive Mode');
  const wrong = pair({}, { psk: new Secret('another-key-entirely-0000') });
  wrong.run(60_000);
  t.ok(records(wrong).some((l) => /pre-shared keys differ/.test(l)), 'the wrong key is named as such');
  t.notOk(records(wrong).some((l) => l.includes(PSK) || l.includes('another-key-entirely-0000')), 'neither key is in the log');
  t.notOk(records(wrong).some((l) => spellings(wrong.engines.b.sas[0]?.crypto?.keys?.skeyid ?? new Uint8Array(8)).some((s) => l.includes(s))), 'nor the SKEYID the responder derived from its key');
});
