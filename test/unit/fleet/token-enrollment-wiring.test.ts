// Issue 26: a box enrolled with a token whose switch to the issued certificate safe mode undid (the
// broker did not take it) tries the switch again after a pause, doubling, rather than only at its next
// start; not when the telemetry settings changed meanwhile, and no more once the broker took one.
// The wiring's own logic, with the service's parts it calls given as functions that keep state.
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { writeEnrolled } from '../../../firmware/fleet/enrolled-files.ts';
import { writeFleetFile } from '../../../firmware/fleet/state-file.ts';
import { TokenEnrollmentWiring } from '../../../firmware/fleet/token-enrollment-wiring.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueClientCertificateForKey } from '../../../firmware/pki/issue.ts';
import { waitUntil } from '../../lab/peers/wait.ts';
import { tempDir } from '../../helpers/tmp.ts';

t.test('a reverted switch to the enrolled certificate is tried again after a pause', async (t) => {
  const stateDir = tempDir(t);
  const ca = createCa({ commonName: 'Enrollment CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFleetFile(stateDir, 'enroll-key.pem', key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeEnrolled(stateDir, issueClientCertificateForKey(ca, { commonName: 'shop-18', validityDays: 10, now: new Date(), publicKey: key.publicKey }).certificatePem, ca.certificatePem);
  // The box as token enrollment left it: enrolled, its telemetry still off (the power went before the switch).
  const base = defaultConfig();
  let config: PosternConfig = { ...base, telemetry: { mqtt: { ...base.telemetry.mqtt, enabled: false, url: 'mqtts://127.0.0.1:1', deviceId: 'shop-18', clientCertificate: 'board-device', fleet: { enabled: false, operatorKeys: [], groups: [], confirmSeconds: 5 } } } };
  let revision = 1;
  let pending: { revision: number; before: PosternConfig } | undefined;
  const applied: PosternConfig[] = [];
  const { sink, records } = memorySink();
  const wiring = new TokenEnrollmentWiring({
    fleet: { operatorKeys: [], broker: 'mqtts://127.0.0.1:1', enrollmentTokenFile: '/nonexistent' }, stateDir, logger: createLogger({ sink }), clock: Date.now,
    current: () => ({ config }),
    apply: async (next) => {
      pending = { revision: ++revision, before: config };
      config = next;
      applied.push(next);
      return { ok: true, revision };
    },
    safeModePending: () => pending?.revision,
    confirmSafeMode: () => {
      pending = undefined;
      return true;
    },
    switchRetryMs: 20,
  });
  t.teardown(() => wiring.stop());
  // Safe mode's revert, as the service's would do it: the configuration before, then the outcome.
  const revert = () => {
    const p = pending!;
    config = p.before;
    pending = undefined;
    wiring.safeModeOutcome('reverted', p.revision);
  };
  const logged = (msg: string) => records.filter((r) => r.msg === msg);

  wiring.start();
  await waitUntil('the switch', 2000, () => applied.length === 1);
  t.match(applied[0]!.telemetry.mqtt, { enabled: true, clientCertificate: 'board-device', fleet: { enabled: true } }, 'telemetry on with the enrolled certificate');
  t.equal(wiring.enrolling, true, 'enrolling while safe mode waits');
  wiring.safeModeOutcome('reverted', revision + 5);
  t.equal(wiring.enrolling, true, 'another change\'s revert is not this one');

  revert();
  t.equal(wiring.enrolling, true, 'reverted: still enrolling (the Fleet page), the switch to be tried again');
  t.match(logged('fleet: the broker did not take the enrolled certificate; switching to it again later')[0], { reverts: 1 });
  await waitUntil('switched again', 2000, () => applied.length === 2);
  revert();
  t.match(logged('fleet: the broker did not take the enrolled certificate; switching to it again later')[1], { reverts: 2 }, 'the second pause is longer (doubling)');
  await waitUntil('and again', 2000, () => applied.length === 3);

  // The broker takes it this time: confirmed on the connection; the count starts over.
  wiring.telemetryConnected();
  t.equal(pending, undefined, 'safe mode confirmed');
  t.equal(logged('fleet: the box reached its broker with its enrolled certificate').length, 1);
  t.equal(wiring.enrolling, false);

  // A new switch (as after a restart with the telemetry off), reverted; a technician changes the
  // telemetry settings before the pause ends: not tried again.
  config = { ...config, telemetry: { mqtt: { ...config.telemetry.mqtt, enabled: false } } };
  wiring.start();
  await waitUntil('a fourth switch', 2000, () => applied.length === 4);
  revert();
  t.match(logged('fleet: the broker did not take the enrolled certificate; switching to it again later')[2], { reverts: 1 }, 'counted from one again after a confirmed switch');
  config = { ...config, telemetry: { mqtt: { ...config.telemetry.mqtt, clientCertificate: 'other' } } };
  await waitUntil('the pause over', 2000, () => logged('fleet: not switching to the enrolled certificate again: the telemetry settings changed meanwhile').length === 1);
  t.equal(applied.length, 4, 'not switched again');
  t.equal(wiring.enrolling, false, 'nor enrolling any more');
});
