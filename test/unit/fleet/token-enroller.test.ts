// Issue 26: the box's token-enrollment shell over a fake MQTT link, and the service's switch to the
// enrolled certificate under safe mode. The shell subscribes before it asks, sends the request with the
// proof (never the token), logs a refusal in words, ignores what is not its own, and takes its
// certificate once: written 0600, then handed over; a switch is confirmed only by a connection.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { presetFleet } from '../../../firmware/fleet/enrollment.ts';
import { enrolledCertificate, enrollmentKey } from '../../../firmware/fleet/enrolled-files.ts';
import { keyIdOf, rawPublicKey } from '../../../firmware/fleet/envelope.ts';
import { TokenEnroller } from '../../../firmware/fleet/token-enroller.ts';
import { TokenEnrollmentWiring } from '../../../firmware/fleet/token-enrollment-wiring.ts';
import { csrSha256, decodeEnrollRequest, signEnrollAnswer } from '../../../firmware/fleet/token-enrollment.ts';
import { newToken } from '../../../firmware/fleet/token-enrollment-console.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueClientCertificateForKey } from '../../../firmware/pki/issue.ts';
import type { LinkEvents, LinkFactory, LinkOptions } from '../../../firmware/telemetry/mqtt-link.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { tempDir } from '../../helpers/tmp.ts';

const NOW = Date.now();
const operator = generateKeyPairSync('ed25519');
const ca = createCa({ commonName: 'enrollment CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date(NOW) });

function fakeLink() {
  const calls: string[] = [];
  const published: Array<{ topic: string; payload: string; retain: boolean }> = [];
  let events: LinkEvents | undefined;
  let options: LinkOptions | undefined;
  const factory: LinkFactory = (o, e) => {
    options = o;
    events = e;
    return {
      publish: async (topic, payload, { retain }) => void published.push({ topic, payload, retain }),
      subscribe: async (topic) => void calls.push(`subscribe ${topic}`),
      end: async () => undefined,
      destroy: () => void calls.push('destroy'),
    };
  };
  return { factory, calls, published, events: () => events!, options: () => options! };
}

t.test('the shell: subscribe, request with a proof, a refusal in words, the certificate taken once', async (t) => {
  const dir = tempDir(t);
  const { sink, records } = memorySink();
  const token = newToken();
  const link = fakeLink();
  let enrolled = 0;
  const enroller = new TokenEnroller({
    stateDir: dir, logger: createLogger({ sink }), clock: () => NOW, serial: 'shop-17', prefix: 'postern', url: 'mqtt://broker', token: new Secret(token),
    keys: [{ id: keyIdOf(operator.publicKey), key: operator.publicKey }], onEnrolled: () => enrolled++, link: link.factory,
  });
  t.teardown(() => enroller.stop());
  enroller.start();
  t.match(link.options(), { username: 'shop-17', clientId: 'postern-enroll-shop-17' }, 'user name = serial');
  t.equal(link.options().password?.reveal(), token, 'password = token (to the broker only)');
  t.equal(link.options().will, undefined, 'no Will');
  link.events().connected();
  await new Promise((r) => setImmediate(r));
  t.same(link.calls, ['subscribe postern/enroll/shop-17/certificate'], 'subscribed before asking');
  t.match(link.published, [{ topic: 'postern/enroll/shop-17/request', retain: true }]);
  const request = decodeEnrollRequest(link.published[0]!.payload);
  t.ok(request.ok && request.value.serial === 'shop-17');
  t.notOk(link.published[0]!.payload.includes(token), 'the token is not in the request');
  t.notOk(JSON.stringify(records).includes(token), 'nor in the log');

  const key = enrollmentKey(dir, 'shop-17');
  const digest = csrSha256(key.csr).toString('hex');
  const answer = (a: Parameters<typeof signEnrollAnswer>[0], signer = operator.privateKey) => Buffer.from(signEnrollAnswer(a, signer));
  const topic = 'postern/enroll/shop-17/certificate';
  link.events().message(topic, answer({ outcome: 'refused', serial: 'shop-17', issuedAt: NOW, csrSha256: digest, code: 'spent', reason: "shop-17's token was already used at …" }));
  t.match(enroller.lastRefusal, { code: 'spent' });
  t.ok(records.some((r) => r.level === 'error' && /refused this box's enrollment: shop-17's token was already used/.test(r.msg)), 'the refusal logged in words');
  link.events().message(topic, answer({ outcome: 'refused', serial: 'shop-17', issuedAt: NOW, csrSha256: digest, code: 'x', reason: 'y' }, generateKeyPairSync('ed25519').privateKey));
  t.equal(enroller.counters.rejected, 1, 'an answer by another key is not taken');
  t.equal(enrolled, 0);

  const cert = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 30, now: new Date(NOW), publicKey: createPublicKey(key.privateKey) });
  link.events().message(topic, answer({ outcome: 'issued', serial: 'shop-17', issuedAt: NOW, csrSha256: digest, certificate: cert.certificatePem, ca: ca.certificatePem }));
  t.equal(enrolled, 1, 'handed to the service');
  t.equal(enrolledCertificate(dir)?.cert, cert.certificatePem, 'the certificate with the box\'s key is its client certificate now');
  t.equal(statSync(join(dir, 'fleet', 'device.pem')).mode & 0o777, 0o600);
  t.ok(link.calls.includes('destroy'), 'the enrollment connection is closed');
  link.events().message(topic, answer({ outcome: 'issued', serial: 'shop-17', issuedAt: NOW, csrSha256: digest, certificate: cert.certificatePem, ca: ca.certificatePem }));
  t.equal(enrolled, 1, 'once');
  t.equal(enrollmentKey(dir, 'shop-17').csr.toString('hex'), key.csr.toString('hex'), 'the key and CSR are kept: an answer after a restart still matches');
});

t.test('the switch: telemetry on through safe mode, confirmed only by a connection (before or after the apply returns)', async (t) => {
  for (const early of [false, true]) {
    const dir = tempDir(t);
    const { sink } = memorySink();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, newToken());
    const fleet = { broker: 'mqtts://broker:8883', operatorKeys: [rawPublicKey(operator.publicKey).toString('base64')], enrollmentTokenFile: tokenFile };
    let config: PosternConfig = presetFleet(defaultConfig(), fleet, 'shop-17');
    let pending: number | undefined;
    let confirmed = 0;
    const applied: Array<{ author: string; confirmWithin: number }> = [];
    const wiring: TokenEnrollmentWiring = new TokenEnrollmentWiring({
      fleet, stateDir: dir, logger: createLogger({ sink }), clock: () => NOW, current: () => ({ config }),
      apply: async (next, meta) => {
        applied.push(meta);
        config = next;
        if (early) wiring.telemetryConnected(); // the telemetry came up while the apply ran
        pending = 7;
        return { ok: true, revision: 7 };
      },
      safeModePending: () => pending, confirmSafeMode: () => (confirmed++, (pending = undefined), true),
    });
    // Enrolled before (the certificate on disk), the switch not made yet: made at start.
    const key = enrollmentKey(dir, 'shop-17');
    const cert = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 30, now: new Date(NOW), publicKey: createPublicKey(key.privateKey) });
    writeFileSync(join(dir, 'fleet', 'device.pem'), cert.certificatePem);
    wiring.start();
    await new Promise((r) => setImmediate(r));
    t.match(applied, [{ author: 'fleet', confirmWithin: 120 }], 'applied as the fleet, in safe mode');
    t.match(config.telemetry.mqtt, { enabled: true, clientCertificate: 'board-device', fleet: { enabled: true } });
    if (!early) {
      t.equal(confirmed, 0, 'not confirmed before a connection');
      wiring.telemetryConnected();
    }
    t.equal(confirmed, 1, early ? 'a connection during the apply confirms it' : 'the connection after it confirms it');
    wiring.telemetryConnected();
    t.equal(confirmed, 1, 'once');
    wiring.stop();
  }
});
