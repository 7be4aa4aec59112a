// Issue 26: the box's side of certificate renewal on a simulated clock, against the console's real
// decision (renewal.ts) and signed answers: nothing before 2/3 of the life; the request signed with
// the current key; a refusal retried with backoff; an issued certificate switched to and kept when
// the broker takes it; put back, and tried again later, when it does not.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { CertRenewer } from '../../../firmware/fleet/cert-renewer.ts';
import { enrolledCertificate, writeEnrolled } from '../../../firmware/fleet/enrolled-files.ts';
import { keyIdOf } from '../../../firmware/fleet/envelope.ts';
import { decideRenewRequest } from '../../../firmware/fleet/renewal.ts';
import { writeFleetFile } from '../../../firmware/fleet/state-file.ts';
import { signEnrollAnswer } from '../../../firmware/fleet/token-enrollment.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueClientCertificateForKey } from '../../../firmware/pki/issue.ts';
import type { TelemetryExtension } from '../../../firmware/telemetry/mqtt-telemetry.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { tempDir } from '../../helpers/tmp.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const ca = createCa({ commonName: 'Postern enrollment CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date(T0 - DAY) });
const operator = generateKeyPairSync('ed25519');
const keys = [{ id: keyIdOf(operator.publicKey), key: operator.publicKey }];

t.test('renewal on a simulated clock: refused and retried, switched and kept, switched and put back', async (t) => {
  const stateDir = tempDir(t);
  // Enrolled 90 days from T0 (what token enrollment leaves).
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFleetFile(stateDir, 'enroll-key.pem', key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  const first = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 90, now: new Date(T0), publicKey: key.publicKey }).certificatePem;
  writeEnrolled(stateDir, first, ca.certificatePem);
  const life = { from: Date.parse(new X509Certificate(first).validFrom), to: Date.parse(new X509Certificate(first).validTo) };
  const due = life.from + Math.floor(((life.to - life.from) * 2) / 3);

  let now = T0 + 10 * DAY;
  const { sink, records } = memorySink();
  let restarts = 0;
  const renewer = new CertRenewer({ stateDir, logger: createLogger({ sink }), clock: () => now, keys: () => keys, restartTelemetry: async () => { restarts++; }, confirmMs: () => 120_000 });
  const settings = { ...defaultConfig().telemetry.mqtt, enabled: true, deviceId: 'shop-17', clientCertificate: 'board-device' };
  t.equal(renewer.extension({ ...settings, clientCertificate: 'other' }), undefined, 'only on a connection with the enrolled certificate');
  const ext = renewer.extension(settings) as TelemetryExtension;
  t.same(ext.subscriptions, ['postern/enroll/shop-17/certificate']);
  const sent: Array<{ topic: string; payload: string }> = [];
  const connect = () => ext.connected(async (topic, payload) => { sent.push({ topic, payload }); });
  connect();
  await renewer.tick();
  t.equal(sent.length, 0, 'nothing at day 10 of 90');
  t.match(renewer.status(), { dueAt: new Date(due).toISOString(), failures: 0 }, 'due at 2/3 of its life');
  now = due - 1000;
  await renewer.tick();
  t.equal(sent.length, 0, 'nor a second before');

  // Day 60: the request, signed with the current key; the console refuses it (as a console would, signed).
  now = due;
  await renewer.tick();
  t.equal(sent.length, 1);
  t.equal(sent[0]!.topic, 'postern/enroll/shop-17/renew');
  const decision = decideRenewRequest(sent[0]!.payload, 'shop-17', ca.certificatePem, now);
  t.equal(decision.kind, 'issue', 'the console takes the request');
  if (decision.kind !== 'issue') return;
  await renewer.tick();
  t.equal(sent.length, 1, 'one request at a time');
  ext.message('postern/enroll/shop-17/certificate', Buffer.from(signEnrollAnswer({ outcome: 'refused', serial: 'shop-17', issuedAt: now, csrSha256: decision.csrSha256, code: 'bad-csr', reason: 'refused for the test' }, operator.privateKey)), false);
  await new Promise((r) => setImmediate(r));
  t.match(renewer.status(), { failures: 1, lastFailure: { code: 'bad-csr' }, nextAttemptAt: new Date(now + 60_000).toISOString() }, 'the refusal kept, the next attempt a minute later');
  t.ok(records.some((r) => /refused to renew/.test(String(r.msg))), 'and logged in words');
  now += 30_000;
  await renewer.tick();
  t.equal(sent.length, 1, 'not before the backoff is over');
  now += 30_000;
  await renewer.tick();
  t.equal(sent.length, 2, 'asked again');
  const again = decideRenewRequest(sent[1]!.payload, 'shop-17', ca.certificatePem, now);
  if (again.kind !== 'issue') return t.fail('the second request is taken');
  t.equal(again.csrSha256, decision.csrSha256, 'the same new key and CSR for the retry');

  // Issued: switched to, the telemetry restarted; the broker takes it (a connection) and the old one goes.
  const issue = (d: typeof again, at: number, days: number) => signEnrollAnswer({ outcome: 'issued', serial: 'shop-17', issuedAt: at, csrSha256: d.csrSha256, certificate: issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: days, now: new Date(at), publicKey: d.request.publicKey }).certificatePem, ca: ca.certificatePem }, operator.privateKey);
  const oldPem = enrolledCertificate(stateDir)!.cert;
  ext.message('postern/enroll/shop-17/certificate', Buffer.from(issue(again, now, 90)), false);
  const deadline = Date.now() + 5000;
  while (restarts === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  t.equal(restarts, 1, 'the telemetry dials again with the new certificate');
  const renewed = enrolledCertificate(stateDir)!;
  t.not(renewed.cert, oldPem);
  t.ok(new X509Certificate(renewed.cert).publicKey.equals(again.request.publicKey), 'the new certificate with the new key on disk');
  t.ok(existsSync(join(stateDir, 'fleet', 'device-previous.pem')), 'the old one kept until the broker takes the new one');
  t.match(renewer.status(), { switching: true });
  connect();
  t.notOk(existsSync(join(stateDir, 'fleet', 'device-previous.pem')), 'taken: the old one gone');
  t.match(renewer.status(), { switching: false, failures: 0, notAfter: new Date(Date.parse(new X509Certificate(renewed.cert).validTo)).toISOString(), renewedAt: new Date(now).toISOString() });
  t.equal(renewer.counters.confirmed, 1);

  // The next renewal, 2/3 into the new certificate's life: issued, but the broker never takes it.
  now += 60 * DAY + 1000;
  await renewer.tick();
  t.equal(sent.length, 3);
  const third = decideRenewRequest(sent[2]!.payload, 'shop-17', ca.certificatePem, now);
  if (third.kind !== 'issue') return t.fail('the third request is taken');
  t.ok(third.request.publicKey.equals(again.request.publicKey) === false, 'a new key for a new renewal');
  const beforePem = readFileSync(join(stateDir, 'fleet', 'device.pem'), 'utf8');
  ext.message('postern/enroll/shop-17/certificate', Buffer.from(issue(third, now, 90)), false);
  while (restarts === 1 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 5));
  t.not(readFileSync(join(stateDir, 'fleet', 'device.pem'), 'utf8'), beforePem, 'switched');
  now += 119_000;
  await renewer.tick();
  t.match(renewer.status(), { switching: true }, 'within its time, still waiting for the broker');
  now += 2000;
  await renewer.tick();
  t.equal(readFileSync(join(stateDir, 'fleet', 'device.pem'), 'utf8'), beforePem, 'not taken in time: the previous certificate is back');
  t.equal(restarts, 3, 'and the telemetry dials with it again');
  t.match(renewer.status(), { switching: false, failures: 1, lastFailure: { code: 'reverted' } }, 'a failure, retried with backoff');
  t.match(renewer.counters, { requests: 3, issued: 2, refused: 1, confirmed: 1, reverted: 1 });
});

t.test('a factory certificate renewed the same way: the enrolled one kept in the state directory, the factory files never written', async (t) => {
  const stateDir = tempDir(t);
  const factoryCa = createCa({ commonName: 'Factory CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date(T0 - DAY) });
  const factoryKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const factory = { cert: issueClientCertificateForKey(factoryCa, { commonName: 'shop-20', validityDays: 30, now: new Date(T0), publicKey: factoryKey.publicKey }).certificatePem, key: new Secret(factoryKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string) };
  let now = T0 + 25 * DAY; // past 2/3 of 30 days
  let restarts = 0;
  const renewer = new CertRenewer({ stateDir, logger: createLogger({ sink: () => {} }), clock: () => now, keys: () => keys, restartTelemetry: async () => { restarts++; }, confirmMs: () => 120_000, factory: () => factory });
  const settings = { ...defaultConfig().telemetry.mqtt, enabled: true, deviceId: 'shop-20', clientCertificate: 'board-device' };
  t.equal(new CertRenewer({ stateDir, logger: createLogger({ sink: () => {} }), clock: () => now, keys: () => keys, restartTelemetry: async () => {}, confirmMs: () => 1 }).extension(settings), undefined, 'nothing to renew without a certificate');
  const ext = renewer.extension(settings) as TelemetryExtension;
  const sent: string[] = [];
  // The connection's own tick runs to its end (a tick while one runs is skipped).
  const settle = () => new Promise((r) => setImmediate(r));
  const connect = async () => {
    ext.connected(async (_topic, payload) => { sent.push(payload); });
    await settle();
  };
  await connect();
  t.equal(sent.length, 1, 'due: asked');
  t.match(decideRenewRequest(sent[0]!, 'shop-20', ca.certificatePem, now), { kind: 'refuse', code: 'bad-certificate' }, 'a console without the factory CA refuses');
  const d = decideRenewRequest(sent[0]!, 'shop-20', ca.certificatePem, now, [factoryCa.certificatePem]);
  if (d.kind !== 'issue') return t.fail('signed with the factory key, taken by a console that trusts the factory CA');
  const answer = (at: number) => signEnrollAnswer({ outcome: 'issued', serial: 'shop-20', issuedAt: at, csrSha256: d.csrSha256, certificate: issueClientCertificateForKey(ca, { commonName: 'shop-20', validityDays: 90, now: new Date(at), publicKey: d.request.publicKey }).certificatePem, ca: ca.certificatePem }, operator.privateKey);
  ext.message('postern/enroll/shop-20/certificate', Buffer.from(answer(now)), false);
  await settle();
  t.equal(restarts, 1, 'switched: the telemetry dials again');
  t.ok(new X509Certificate(enrolledCertificate(stateDir)!.cert).publicKey.equals(d.request.publicKey), 'the enrollment CA\'s certificate for the new key, in the state directory');
  // Not taken by the broker in time: the enrolled files go, and the factory certificate is the one in use again.
  now += 121_000;
  await renewer.tick();
  t.equal(enrolledCertificate(stateDir), undefined, 'reverted: no enrolled certificate left');
  t.equal(restarts, 2);
  t.match(renewer.status(), { failures: 1, lastFailure: { code: 'reverted' }, notAfter: new Date(Date.parse(new X509Certificate(factory.cert).validTo)).toISOString() }, 'the factory certificate\'s plan, retried with backoff');
  // Asked again after the backoff (the same new key), issued, and taken this time.
  now += 61_000;
  await renewer.tick();
  t.equal(sent.length, 2, 'asked again');
  const d2 = decideRenewRequest(sent[1]!, 'shop-20', ca.certificatePem, now, [factoryCa.certificatePem]);
  if (d2.kind !== 'issue') return t.fail('the second request is taken');
  ext.message('postern/enroll/shop-20/certificate', Buffer.from(signEnrollAnswer({ outcome: 'issued', serial: 'shop-20', issuedAt: now, csrSha256: d2.csrSha256, certificate: issueClientCertificateForKey(ca, { commonName: 'shop-20', validityDays: 90, now: new Date(now), publicKey: d2.request.publicKey }).certificatePem, ca: ca.certificatePem }, operator.privateKey)), false);
  await settle();
  t.equal(restarts, 3, 'switched again');
  await connect();
  t.match(renewer.status(), { switching: false, failures: 0, renewedAt: new Date(now).toISOString() }, 'the broker took it');
  t.ok(new X509Certificate(enrolledCertificate(stateDir)!.cert).checkIssued(new X509Certificate(ca.certificatePem)), 'the box now holds an enrollment CA certificate, renewed from here on like any enrolled one');
  t.notOk(existsSync(join(stateDir, 'fleet', 'device-previous.pem')), 'nothing kept to put back');
});
