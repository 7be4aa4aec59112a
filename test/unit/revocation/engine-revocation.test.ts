// The policy (off / soft / hard) applied by the IKEv2 engine to a peer certificate's revocation
// status (issue 16), two engines back to back: revoked refused with the reason and an auth failure,
// unknown accepted under soft-fail and refused under hard-fail, a hard-fail answer still being fetched
// holds IKE_AUTH until the initiator's retransmission finds it.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { RevocationPolicy } from '../../../firmware/config/types.ts';
import { revocationVerdict, type RevocationAnswer, type RevocationChecker, type RevocationStatus } from '../../../firmware/revocation/revocation-policy.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const ca = testCa('Revocation Test CA', 'ecdsa-p256');
const client = identity(ca, 'a.example', ['a.example'], 'ecdsa-p256');
const gateway = identity(ca, 'b.example', ['b.example'], 'ecdsa-p256');
const revokedAt = new Date('2026-11-30T12:00:00Z');

function run(answers: (call: number) => RevocationAnswer) {
  const calls: Array<{ serial: string; issuer: string }> = [];
  const checker: RevocationChecker = {
    check: (c, issuer) => {
      calls.push({ serial: c.serialNumber, issuer: issuer.subject });
      return answers(calls.length);
    },
  };
  const a = new IkeEngine([connection('to-b', { remoteAddress: '192.0.2.2', localId: 'a.example', remoteId: 'b.example', peerAuth: 'certificate', trustedCas: [der(ca.certificatePem)], ...client.auth })], seededCrypto('a'));
  const b = new IkeEngine([connection('to-a', { localId: 'b.example', remoteId: 'a.example', peerAuth: 'certificate', trustedCas: [der(ca.certificatePem)], ...gateway.auth, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'), { revocation: checker });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('to-b', { address: '192.0.2.1', port: 500 }, 0));
  pair.run(60_000);
  return { pair, calls, up: pair.of('b', 'ike-up').length > 0 };
}

const answer = (policy: RevocationPolicy, status: RevocationStatus): RevocationAnswer => ({ policy, status });
const revoked: RevocationStatus = { status: 'revoked', source: 'CRL from http://192.0.2.9/ca.crl', revokedAt };

t.test('revoked under hard or soft: refused, with the certificate, serial, source and date, and an auth failure', async (t) => {
  for (const policy of ['hard', 'soft'] as const) {
    const { pair, calls, up } = run(() => answer(policy, revoked));
    t.notOk(up, `${policy}: no IKE SA`);
    t.equal(calls[0]?.serial, new X509Certificate(client.issued.certificatePem).serialNumber, 'asked about the client certificate');
    t.match(calls[0]?.issuer, /Revocation Test CA/, 'with its issuing CA');
    const line = `certificate 'CN=a.example' serial ${client.issued.serialHex.replace(/^0+/, '')} is revoked (CRL from http://192.0.2.9/ca.crl, revoked at 2026-11-30T12:00:00.000Z)`;
    t.ok(pair.logs('b').some((l) => l.includes(line)), `${policy}: the log line names it`);
    t.match(pair.of('b', 'ike-down')[0]?.reason, /^authentication failed: certificate 'CN=a\.example'.* is revoked/, 'ike-down says authentication failed (the service raises auth-failure)');
    t.match(pair.of('a', 'ike-down')[0]?.reason, /AUTHENTICATION_FAILED/, 'the client was told AUTHENTICATION_FAILED');
  }
});

t.test('good: accepted; off: not even a revoked one refused', async (t) => {
  t.ok(run(() => answer('hard', { status: 'good', source: 'OCSP from http://192.0.2.9/' })).up, 'good');
  t.ok(run(() => answer('off', revoked)).up, 'off');
});

t.test('unknown: soft-fail accepts with a warning, hard-fail refuses', async (t) => {
  const unknown: RevocationStatus = { status: 'unknown', why: 'CRL http://192.0.2.9/ca.crl: no answer within 5000 ms', pending: false };
  const soft = run(() => answer('soft', unknown));
  t.ok(soft.up, 'soft: accepted');
  t.ok(soft.pair.logs('b').some((l) => l.includes('accepted (soft-fail)')), 'with a warning');
  const hard = run(() => answer('hard', unknown));
  t.notOk(hard.up, 'hard: refused');
  t.ok(hard.pair.logs('b').some((l) => /cannot be checked \(CRL http:.*hard-fail\)/.test(l)), 'saying why');
});

t.test('hard-fail still fetching: IKE_AUTH held, answered on the retransmission once known', async (t) => {
  const fetching: RevocationStatus = { status: 'unknown', why: 'being fetched', pending: true };
  const good = run((n) => answer('hard', n === 1 ? fetching : { status: 'good', source: 'CRL from http://192.0.2.9/ca.crl' }));
  t.ok(good.up, 'up after the retransmission');
  t.equal(good.calls.length, 2, 'asked twice: the first request held, the retransmission answered');
  t.ok(good.pair.logs('b').some((l) => l.includes("IKE_AUTH of 'a.example' held")), 'the hold is logged');
  const bad = run((n) => answer('hard', n === 1 ? fetching : revoked));
  t.notOk(bad.up, 'revoked once fetched: refused');
  t.match(bad.pair.of('a', 'ike-down')[0]?.reason, /AUTHENTICATION_FAILED/);
});

t.test('revocationVerdict, the policy table', async (t) => {
  const cert = new X509Certificate(client.issued.certificatePem);
  const unknown = (pending: boolean): RevocationStatus => ({ status: 'unknown', why: 'x', pending });
  const table: Array<[RevocationPolicy, RevocationStatus, string]> = [
    ['off', revoked, 'accept'], ['off', unknown(false), 'accept'],
    ['soft', revoked, 'refuse'], ['soft', unknown(false), 'accept'], ['soft', unknown(true), 'accept'], ['soft', { status: 'good', source: 's' }, 'accept'],
    ['hard', revoked, 'refuse'], ['hard', unknown(false), 'refuse'], ['hard', unknown(true), 'wait'], ['hard', { status: 'good', source: 's' }, 'accept'],
  ];
  for (const [policy, status, expected] of table) t.equal(revocationVerdict(cert, { policy, status }).verdict, expected, `${policy} + ${status.status}${status.status === 'unknown' && status.pending ? ' (pending)' : ''}`);
});

t.test('config: trusted CAs must be readable CA certificates; the schema takes the revocation fields', async (t) => {
  const { defaultConfig } = await import('../../../firmware/config/defaults.ts');
  const { validateConfig } = await import('../../../firmware/config/validate.ts');
  const issues = (c: unknown) => {
    const r = validateConfig(c);
    return r.ok ? [] : r.errors.filter((i) => i.path.startsWith('certificates'));
  };
  const config = defaultConfig();
  config.certificates.revocation = 'soft';
  config.certificates.trusted = [{ name: 'corp', certificate: ca.certificatePem, revocation: 'hard' }];
  t.same(issues(config), [], 'a CA with its policy is accepted');
  config.certificates.trusted = [{ name: 'leaf', certificate: client.issued.certificatePem }, { name: 'junk', certificate: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(80)}\n-----END CERTIFICATE-----` }];
  t.match(issues(config), [{ path: 'certificates.trusted[0].certificate', message: /is not a CA certificate/ }, { path: 'certificates.trusted[1].certificate', message: /not a readable PEM/ }]);
  (config.certificates as { revocation?: string }).revocation = 'sometimes';
  t.ok(issues(config).some((i) => i.path === 'certificates.revocation'), 'an unknown policy is refused');
});
