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
