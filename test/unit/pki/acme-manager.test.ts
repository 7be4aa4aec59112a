import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { AcmeChallenges } from '../../../firmware/pki/acme/acme-challenges.ts';
import type { AcmeOrder } from '../../../firmware/pki/acme/acme-obtain.ts';
import { AcmeSchedule, RENEW_BEFORE_MS, RETRY_FIRST_MS, RETRY_MAX_MS, MAX_SLEEP_MS, renewalAt, retryDelay } from '../../../firmware/pki/acme/acme-schedule.ts';
import { acmePaths, readAcmeCertificate } from '../../../firmware/pki/acme/acme-store.ts';
import { AcmeSubsystem, acmeNames } from '../../../firmware/pki/acme/acme-subsystem.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const DAY = 86_400_000;
const t0 = Date.parse('2026-03-01T00:00:00Z');

t.test('schedule: due at once without a certificate, 30 days before notAfter with one', async (t) => {
  t.ok(new AcmeSchedule(undefined, t0).due(t0));
  const notAfter = t0 + 90 * DAY;
  const s = new AcmeSchedule(notAfter, t0);
  t.equal(renewalAt(notAfter), notAfter - RENEW_BEFORE_MS);
  t.equal(s.nextAttemptAt, t0 + 60 * DAY);
  t.notOk(s.due(t0 + 60 * DAY - 1));
  t.ok(s.due(t0 + 60 * DAY));
  t.equal(s.sleepMs(t0), MAX_SLEEP_MS, 'never sleeps past the cap, whatever the distance');
  t.ok(new AcmeSchedule(t0 + 10 * DAY, t0).due(t0), 'a certificate already inside its last 30 days is renewed now');
});

t.test('schedule: retries double from 5 minutes up to 6 hours; success resets them', async (t) => {
  t.same([1, 2, 3, 4].map(retryDelay), [RETRY_FIRST_MS, 2 * RETRY_FIRST_MS, 4 * RETRY_FIRST_MS, 8 * RETRY_FIRST_MS]);
  t.equal(retryDelay(30), RETRY_MAX_MS);
  const s = new AcmeSchedule(undefined, t0);
  const f1 = s.failed(t0);
  t.same(f1, { failures: 1, retryAt: t0 + RETRY_FIRST_MS, notAfter: undefined });
  t.equal(s.failed(t0 + RETRY_FIRST_MS).retryAt, t0 + 3 * RETRY_FIRST_MS);
  s.succeeded(t0 + 90 * DAY, t0 + DAY);
  t.equal(s.failures, 0);
  t.equal(s.nextAttemptAt, t0 + 60 * DAY);
});

t.test('challenges: only a pending well-formed token under /.well-known/acme-challenge/ is answered', async (t) => {
  const c = new AcmeChallenges();
  const token = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
  c.set(token, `${token}.thumb`);
  t.equal(c.answer(`/.well-known/acme-challenge/${token}`), `${token}.thumb`);
  t.equal(c.answer(`/.well-known/acme-challenge/${token}x`), undefined);
  t.equal(c.answer(`/.well-known/acme-challenge/../${token}`), undefined);
  t.equal(c.answer(`/${token}`), undefined);
  c.delete(token);
  t.equal(c.answer(`/.well-known/acme-challenge/${token}`), undefined);
  t.throws(() => c.set('short', 'x'));
});

/** A fake clock whose timers run when it is advanced. */
function fakeTime(start: number) {
  let now = start;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  return {
    now: () => now,
    timers: { set: (fn: () => void, ms: number) => (timers.set(++id, { at: now + ms, fn }), id), clear: (h: unknown) => void timers.delete(h as number) },
    pending: () => [...timers.values()].map((x) => x.at - now),
    async advance(ms: number) {
      const end = now + ms;
      for (let i = 0; i < 10_000; i++) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        await new Promise((r) => setImmediate(r));
      }
      now = end;
    },
  };
}

const ca = createCa({ commonName: 'Fake ACME CA', validityDays: 3650, keyType: 'rsa-2048', now: new Date(t0 - DAY) });
const configWith = (): PosternConfig => {
  const c = defaultConfig();
  c.certificates.server = { commonName: 'vpn.example.net', sans: ['vpn.example.net', '192.0.2.2'] };
  c.certificates.acme = { enabled: true, directoryUrl: 'https://ca.example/dir', challenge: 'http-01' };
  return c;
};

t.test('manager: orders at start, stores under pki/acme, renews 30 days before expiry, retries with an event per failure', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'acme-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const time = fakeTime(t0);
  const orders: AcmeOrder[] = [];
  let failNext = 0;
  const events: Array<{ failures: number; retryAt: string }> = [];
  const issued: number[] = [];
  const acme = new AcmeSubsystem({
    logger: createLogger({ sink: () => {} }), stateDir: state, challenges: new AcmeChallenges(), clock: time.now, timers: time.timers,
    obtain: async (order) => {
      orders.push(order);
      if (failNext > 0) {
        failNext--;
        throw new Error('urn:ietf:params:acme:error:connection');
      }
      const c = issueServerCertificate(ca, { commonName: order.names[0]!, sans: [...order.names], validityDays: 90, now: new Date(time.now()) });
      return { certificatePem: `${c.certificatePem}${ca.certificatePem}`, keyPem: new Secret(c.keyPem.reveal()) };
    },
    onCertificate: (c) => issued.push(c.notAfter),
    onFailure: (e) => events.push(e),
  });
  const config = configWith();
  t.same(acmeNames(config), ['vpn.example.net'], 'DNS names only: the address is not ordered');
  await acme.start(config);
  await time.advance(0);
  await acme.settled();
  t.equal(orders.length, 1, 'ordered at start, having no certificate');
  t.equal(orders[0]!.accountKey.toString(), '<redacted>');
  const paths = acmePaths(state);
  t.equal(statSync(paths.accountKey).mode & 0o777, 0o600, 'account key kept 0600');
  t.equal(statSync(paths.key).mode & 0o777, 0o600, 'certificate key kept 0600');
  const first = readAcmeCertificate(state)!;
  t.same(first.names, ['vpn.example.net']);
  t.same(issued, [first.notAfter]);

  // Nothing until 30 days before expiry (timers keep firing at most every 6 h, without ordering).
  await time.advance(first.notAfter - RENEW_BEFORE_MS - time.now() - 1);
  t.equal(orders.length, 1, 'no order before the renewal time');
  failNext = 2;
  await time.advance(1);
  await acme.settled();
  t.equal(orders.length, 2, 'renewal attempted 30 days before expiry');
  t.equal(events.length, 1, 'an event for the failure');
  t.equal(events[0]!.failures, 1);
  t.equal(Date.parse(events[0]!.retryAt) - time.now(), RETRY_FIRST_MS, 'retried after 5 minutes');
  t.match(acme.report(), {
    running: true, ordering: false, failures: 1, issued: 1, nextAttemptAt: events[0]!.retryAt,
    lastError: { message: 'urn:ietf:params:acme:error:connection', at: new Date(time.now()).toISOString() },
    certificate: { names: ['vpn.example.net'], notAfter: new Date(first.notAfter).toISOString(), usable: true },
  }, 'the report (API, web UI): the certificate held, the failure, the retry');
  t.equal(orders[1]!.accountKey.reveal(), orders[0]!.accountKey.reveal(), 'the same account');
  await time.advance(RETRY_FIRST_MS);
  await acme.settled();
  t.equal(events.length, 2);
  t.equal(Date.parse(events[1]!.retryAt) - time.now(), 2 * RETRY_FIRST_MS, 'then after 10');
  await time.advance(2 * RETRY_FIRST_MS);
  await acme.settled();
  t.equal(orders.length, 4);
  t.equal(issued.length, 2, 'renewed on the third try');
  t.ok(readAcmeCertificate(state)!.notAfter > first.notAfter, 'the renewed certificate is stored');
  t.equal(acme.status().counters?.['consecutiveFailures'], 0);
  const report = acme.report();
  t.equal(report.lastError, undefined, 'a success clears the last error');
  t.equal(report.lastIssuedAt, new Date(time.now()).toISOString());
  t.equal(report.nextAttemptAt, new Date(readAcmeCertificate(state)!.notAfter - RENEW_BEFORE_MS).toISOString(), 'the next renewal 30 days before the new expiry');
  await acme.stop();
  t.equal(acme.report().running, false);
  t.same(time.pending(), [], 'stop leaves no timer');
});

t.test('manager: a stored usable certificate is kept at start; one missing a name is ordered again', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'acme-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const time = fakeTime(t0);
  let orders = 0;
  const make = () => new AcmeSubsystem({
    logger: createLogger({ sink: () => {} }), stateDir: state, challenges: new AcmeChallenges(), clock: time.now, timers: time.timers,
    obtain: async (order) => {
      orders++;
      const c = issueServerCertificate(ca, { commonName: order.names[0]!, sans: [...order.names], validityDays: 90, now: new Date(time.now()) });
      return { certificatePem: c.certificatePem, keyPem: c.keyPem };
    },
  });
  const a = make();
  await a.start(configWith());
  await time.advance(0);
  await a.settled();
  await a.stop();
  const b = make();
  await b.start(configWith());
  await time.advance(DAY);
  t.equal(orders, 1, 'a restart does not order again');
  const more = configWith();
  more.certificates.server.sans.push('vpn2.example.net');
  await b.reconfigure(more);
  await time.advance(0);
  await b.settled();
  t.equal(orders, 2, 'a new name is ordered');
  t.same([...readAcmeCertificate(state)!.names].sort(), ['vpn.example.net', 'vpn2.example.net']);
  await b.stop();
});

t.test('publication listener: answers a pending HTTP-01 challenge with its key authorization, nothing else new', async (t) => {
  const { answerPublication } = await import('../../../firmware/pki/publication-server.ts');
  const c = new AcmeChallenges();
  const token = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
  c.set(token, `${token}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`);
  const files = { crl: () => undefined, caCertificate: () => undefined, acmeChallenge: (p: string) => c.answer(p) };
  const a = answerPublication('GET', `/.well-known/acme-challenge/${token}`, files);
  t.equal(a.status, 200);
  t.equal(a.headers['Content-Type'], 'application/octet-stream');
  t.equal(a.body.toString(), `${token}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`);
  t.equal(a.counted, 'acmeChallenge');
  t.equal(answerPublication('GET', '/.well-known/acme-challenge/unknown-token-0000000', files).status, 404);
  t.equal(answerPublication('POST', `/.well-known/acme-challenge/${token}`, files).status, 405);
});
