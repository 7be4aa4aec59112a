// Issue 16: certificates in use warn 30 days before they expire, and the event fires once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createLogger, type LogRecord } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { certificatesInUse, expiryOf, ExpiryAnnouncements, type CertificateExpiry } from '../../../firmware/pki/expiry.ts';
import { EXPIRY_CHECK_MS, ExpiryWatch } from '../../../firmware/pki/expiry-watch.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import type { GatewayPki } from '../../../firmware/pki/pki-store.ts';
import type { Timers } from '../../../firmware/pki/publication-subsystem.ts';
import { systemStatusSource } from '../../../firmware/telemetry/system-status.ts';
import { EVENT_TYPES } from '../../../firmware/telemetry/schema.ts';

const day = 86_400_000;
const t0 = new Date('2026-06-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'postern-expiry-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const ca = createCa({ commonName: 'Postern CA', validityDays: 3650, keyType: 'rsa-2048', now: t0 });
const gatewayFor = (days: number, now = t0) => issueServerCertificate(ca, { commonName: 'vpn.example.com', sans: ['vpn.example.com'], validityDays: days, now });
const pkiWith = (server: { certificatePem: string; keyPem: GatewayPki['server']['keyPem'] }, chain: string[] = []): GatewayPki => ({
  ca,
  server: { certificatePem: [server.certificatePem.trim(), ...chain.map((c) => c.trim())].join('\n'), keyPem: server.keyPem },
});

t.test('expiryOf: warning from 30 days left, expired after notAfter (pure)', async (t) => {
  const notAfter = new Date(t0.getTime() + 100 * day);
  const at = (daysBefore: number) => expiryOf([{ role: 'gateway', subject: 'CN=x', notAfter, fingerprintSha256: 'f' }], new Date(notAfter.getTime() - daysBefore * day))[0]!;
  t.match(at(31), { warning: false, expired: false, daysLeft: 31 });
  t.match(at(30), { warning: true, expired: false, daysLeft: 30 }, '30 days before: warned');
  t.match(at(0.5), { warning: true, expired: false, daysLeft: 0 });
  t.match(at(-1), { warning: true, expired: true, daysLeft: -1 });
});

t.test('certificatesInUse: gateway, an imported chain, the CA once', async (t) => {
  const intermediate = createCa({ commonName: 'Outside Intermediate', validityDays: 100, keyType: 'rsa-2048', now: t0 });
  const inUse = certificatesInUse(pkiWith(gatewayFor(90), [intermediate.certificatePem, ca.certificatePem]));
  t.same(inUse.map((c) => `${c.role} ${c.subject}`), ['gateway CN=vpn.example.com', 'chain CN=Outside Intermediate', 'ca CN=Postern CA']);
});

/** Timers that fire only when told. */
function manualTimers(): Timers & { pending: Array<{ fn: () => void; ms: number }> } {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    pending,
    set: (fn, ms) => {
      const e = { fn, ms };
      pending.push(e);
      return e;
    },
    clear: (h) => {
      const i = pending.indexOf(h as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
  };
}

t.test('ExpiryWatch: warns while in the last 30 days, the event once per certificate (across restarts), again for a successor', async (t) => {
  const state = join(dir, 'watch');
  let clock = t0.getTime();
  let pki = pkiWith(gatewayFor(90));
  const events: CertificateExpiry[] = [];
  const records: LogRecord[] = [];
  const make = () => {
    const timers = manualTimers();
    const watch = new ExpiryWatch({ stateDir: state, logger: createLogger({ sink: (r) => records.push(r) }), pki: () => pki, clock: () => clock, onExpiring: (e) => events.push(e), timers });
    return { watch, timers };
  };
  const { watch, timers } = make();
  watch.start();
  t.same(events, [], 'nothing 90 days ahead');
  t.equal(timers.pending[0]?.ms, EXPIRY_CHECK_MS, 'looks again in 12 hours');
  clock = t0.getTime() + 61 * day; // 29 days left
  timers.pending[0]!.fn();
  t.equal(events.length, 1, 'the event fired');
  t.match(events[0], { role: 'gateway', subject: 'CN=vpn.example.com', daysLeft: 29, warning: true });
  t.ok(records.some((r) => r.level === 'warn' && r.msg === 'certificate expires soon'), 'and the log warns');
  timers.pending[0]!.fn();
  t.equal(events.length, 1, 'not again at the next look');
  t.match(watch.current().find((e) => e.role === 'gateway'), { warning: true }, 'the status still says so');
  watch.stop();
  t.equal(timers.pending.length, 0, 'stopped');

  const again = make();
  again.watch.start();
  t.equal(events.length, 1, 'nor after a restart');
  pki = pkiWith(gatewayFor(10, new Date(clock)));
  again.watch.check();
  t.equal(events.length, 2, 'a new certificate in its last days fires its own event');
  again.watch.stop();

  // The MQTT status carries what the watch found.
  const status = await systemStatusSource({ clock: () => clock, certificates: () => again.watch.current().map(({ role, subject, notAfter, daysLeft, warning }) => ({ role, subject, notAfter, daysLeft, warning })), probes: { mem: async () => ({ total: 1, available: 1 }), cpuTemperature: async () => ({ main: null, cores: [] }), networkStats: async () => [] } })();
  t.match(status.certificates, [{ role: 'gateway', warning: true }, { role: 'ca', warning: false }]);
  t.ok(EVENT_TYPES.includes('certificate-expiring'), 'a telemetry event type');
});

t.test('ExpiryAnnouncements: forgets certificates no longer in use', async (t) => {
  const a = new ExpiryAnnouncements(join(dir, 'ann'), createLogger({ sink: () => {} }));
  const e = (f: string): CertificateExpiry => ({ role: 'gateway', subject: 's', notAfter: '', daysLeft: 1, warning: true, expired: false, fingerprintSha256: f });
  t.equal(a.takeNew([e('A')]).length, 1);
  t.equal(a.takeNew([e('A')]).length, 0);
  t.equal(a.takeNew([e('B')]).length, 1, 'B is new; A is gone from use');
  t.equal(a.takeNew([e('A')]).length, 1, 'so A back in use is announced again');
});
