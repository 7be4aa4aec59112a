import t from 'tap';
import { EapMschapv2Client } from '../../../firmware/auth/eap/mschapv2-client.ts';
import { decodeMschap, encodeMschap } from '../../../firmware/auth/eap/mschapv2-packets.ts';
import { localMschapv2Verifier } from '../../../firmware/auth/mschapv2-verifier.ts';
import { EapMschapv2Server } from '../../../firmware/auth/eap/mschapv2-server.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { VirtualAddressProvider } from '../../../firmware/ike/engine/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import fc from 'fast-check';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const users = (name: string) => (name === 'alice' ? credentialFromPassword('Correct-Horse-7') : undefined);
const pool: VirtualAddressProvider = { lease: () => ({ ipv4: '10.10.0.1', dns: [] }), release: () => {} };

function eapPair(password: string, identity = 'alice') {
  const a = new IkeEngine([connection('vpn', { remoteAddress: B, remoteId: 'vpn.example.com', requestVirtualIp: true, remoteTs: ['0.0.0.0/0'], eap: { identity, password: new Secret(password) } })], seededCrypto('a'));
  const b = new IkeEngine([connection('ra', { localId: 'vpn.example.com', peerAuth: 'eap-mschapv2', pool: 'ra', localTs: ['0.0.0.0/0'], remoteTs: [] })], seededCrypto('b'), { users, addresses: pool });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('vpn', { address: A, port: 500 }, 0));
  pair.run(10_000);
  return pair;
}

t.test('EAP-MSCHAPv2 in IKE_AUTH: identity, challenge, success, then AUTH keyed with the MSK', async (t) => {
  const pair = eapPair('Correct-Horse-7');
  const up = pair.of('b', 'ike-up')[0];
  t.equal(up?.remoteId, 'alice', 'the gateway knows the user by the EAP identity');
  t.equal(pair.of('a', 'ike-up')[0]?.virtualIp?.ipv4, '10.10.0.1', 'and the client got its address');
  t.equal(pair.of('a', 'install-child').length, 1);
  t.equal(pair.of('b', 'install-child').length, 1);
  const logs = pair.logs('b');
  for (const line of [/IKE_AUTH request 1 \[ IDi N\(INITIAL_CONTACT\) IDr CP SA TSi TSr N\(MOBIKE_SUPPORTED\) \]/, /IKE_AUTH response 1 \[ IDr AUTH EAP \]/, /IKE_AUTH request 2 \[ EAP \]/, /IKE_AUTH request 5 \[ AUTH \]/, /IKE_AUTH response 5 \[ AUTH CP SA TSi TSr N\(MOBIKE_SUPPORTED\) \]/]) {
    t.ok(logs.some((l) => line.test(l)), `${line}`);
  }
  t.notOk(JSON.stringify(pair.actions, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).includes('Correct-Horse-7'), 'the password never leaves in an action or log');
});

t.test('a wrong password, an unknown user: EAP Failure, nothing up, a clear log line', async (t) => {
  for (const [password, identity] of [['wrong', 'alice'], ['Correct-Horse-7', 'mallory']] as const) {
    const pair = eapPair(password, identity);
    t.equal(pair.of('a', 'ike-up').length + pair.of('b', 'ike-up').length, 0, `${identity}: not up`);
    t.ok(pair.logs('b').some((l) => l.includes(`MS-CHAPv2 authentication of '${identity}' failed`)), `${identity}: the gateway says why`);
    t.match(pair.of('a', 'ike-down')[0]?.reason, /EAP failed: the server sent EAP Failure/);
    t.equal(pair.engines.a!.sas.length + pair.engines.b!.sas.length, 0, 'no SA left');
  }
});

t.test('the MS-CHAPv2 server and client agree on the MSK; a forged success is refused', async (t) => {
  const server = new EapMschapv2Server(localMschapv2Verifier(users), seededCrypto('s').randomBytes, 'vpn');
  const client = new EapMschapv2Client('alice', new Secret('Correct-Horse-7'), seededCrypto('c').randomBytes);
  let request = server.start();
  let serverMsk: Buffer | undefined;
  let clientMsk: Buffer | undefined;
  const msIds: Array<[number, number]> = []; // [MS-CHAPv2 OpCode, MS-CHAPv2-ID] of every MS-CHAPv2 packet
  const note = (p: { type?: number; data: Uint8Array }) => {
    const m = p.type === 26 ? decodeMschap(p.data) : undefined;
    if (m?.ok && 'id' in m.value) msIds.push([m.value.op, m.value.id]);
  };
  for (let i = 0; i < 5 && !clientMsk; i++) {
    note(request);
    const step = client.receive(request);
    if (step.status === 'continue') note(step.send);
    if (step.status === 'success') clientMsk = step.msk;
    else if (step.status === 'continue') {
      const s = server.receive(step.send);
      if (s.status === 'success') serverMsk = s.msk;
      if (s.status === 'pending') return t.fail('the local verifier answers at once');
      request = s.send;
    } else t.fail(step.reason);
  }
  t.ok(serverMsk && clientMsk && serverMsk.equals(clientMsk) && serverMsk.length === 64, 'the same 64-byte MSK on both sides');
  // draft-kamath §2, as PPP CHAP (RFC 2759): the Success-Request repeats the Response's MS-CHAPv2-ID
  // (pppd looks its expected authenticator response up by it).
  const id = (op: number) => msIds.find(([o]) => o === op)?.[1];
  t.equal(id(3), id(2), `the Success carries the Response's MS-CHAPv2-ID: ${JSON.stringify(msIds)}`);
  const fresh = new EapMschapv2Client('alice', new Secret('Correct-Horse-7'), seededCrypto('c').randomBytes);
  t.match(fresh.receive({ code: 3, identifier: 1, data: new Uint8Array() }), { status: 'failure' }, 'EAP Success before the server proved itself is refused');
});

t.test('MS-CHAPv2 packets round-trip; random input never throws', async (t) => {
  const challenge = { op: 1 as const, id: 7, challenge: new Uint8Array(16).fill(3), name: 'vpn' };
  t.same(decodeMschap(encodeMschap(challenge)), { ok: true, value: challenge });
  const response = { op: 2 as const, id: 7, peerChallenge: new Uint8Array(16).fill(1), ntResponse: new Uint8Array(24).fill(2), name: 'alice' };
  t.same(decodeMschap(encodeMschap(response)), { ok: true, value: response });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    const r = decodeMschap(bytes);
    return r.ok || typeof r.error.message === 'string';
  }), { numRuns: 2000 });
  const server = new EapMschapv2Server(localMschapv2Verifier(users), seededCrypto('f').randomBytes, 'vpn');
  server.start();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 1, max: 4 }), (data, code) => {
    server.receive({ code: code as 1, identifier: 0, type: 26, data });
    return true;
  }), { numRuns: 500 });
});
