// Issue 26: the fleet state the web UI's Fleet page and /healthz show: enrollment from the board and
// the settings, the variables' values only where no secret field takes them, and /healthz without values.
import { generateKeyPairSync, X509Certificate as X509 } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { TelemetryConfig } from '../../../firmware/config/types.ts';
import { certificateSummary, enrollmentView, healthSummary, type FleetView } from '../../../firmware/fleet/fleet-view.ts';
import { visibleVariables } from '../../../firmware/fleet/variable-visibility.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueClientCertificateForKey } from '../../../firmware/pki/issue.ts';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const DAY = 86_400_000;

t.test('variables: a value is shown only where every use is at a field that is not secret', async (t) => {
  const variables = { shopName: 'shop17', lan: '10.17.0.1/24', sitePsk: 'Psk-Value-1', both: 'Both-Value-1', unused: 'u', port: 4500 };
  const template = {
    system: { hostname: '{{var.shopName}}', lan: { address: '{{var.lan}}' } },
    // A site's PSK is a secret field: the value it takes is hidden, even when also used in plain text elsewhere.
    sites: [{ name: 'hq', psk: '{{var.sitePsk}}', remote: { address: 'x-{{var.both}}' } }, { name: 'b', psk: 'pre-{{var.both}}' }],
    listeners: { ikev2: { port: '{{var.port}}' } },
  };
  const shown = visibleVariables(variables, template);
  t.same(shown, [
    { name: 'both' }, { name: 'lan', value: '10.17.0.1/24' }, { name: 'port', value: 4500 }, { name: 'shopName', value: 'shop17' }, { name: 'sitePsk' }, { name: 'unused' },
  ]);
  t.same(visibleVariables(variables, undefined).map((v) => Object.keys(v)), Object.keys(variables).sort().map(() => ['name']), 'use unknown: names only');
  t.same(visibleVariables({ wanKey: 'k', label: 'x' }, { system: { hostname: '{{var.wanKey}}-{{var.label}}' } }), [{ name: 'label', value: 'x' }, { name: 'wanKey' }], 'a name that looks like a secret\'s: name only');
  t.same(visibleVariables(undefined, template), [], 'no variables');
});

t.test('property: never throws, never shows a value a secret field takes', async (t) => {
  const name = fc.stringMatching(/^[A-Za-z0-9_]{1,8}$/);
  let runs = 0;
  fc.assert(fc.property(fc.dictionary(name, fc.oneof(fc.string(), fc.integer(), fc.boolean()), { maxKeys: 6 }), fc.jsonValue({ maxDepth: 4 }), name, (variables, junk, secretName) => {
    runs++;
    const template = { junk, sites: [{ name: 's', psk: `{{var.${secretName}}}` }] };
    const shown = visibleVariables({ ...variables, [secretName]: 'S' }, template);
    return shown.find((v) => v.name === secretName)?.value === undefined && shown.length === Object.keys({ ...variables, [secretName]: 1 }).length;
  }), { numRuns: 300 });
  t.equal(runs, 300, 'every generated case ran');
});

t.test('enrollment: not configured, enrolling, enrolled with its certificate, off', async (t) => {
  const mqtt = (over: Partial<TelemetryConfig['mqtt']>): TelemetryConfig['mqtt'] => ({ ...defaultConfig().telemetry.mqtt, ...over });
  const fleet = { enabled: true, operatorKeys: ['k'], groups: [], confirmSeconds: 120 };
  t.same(enrollmentView({ board: undefined, mqtt: mqtt({}), certificatePem: undefined, enrolling: false, now: NOW }), { state: 'not-configured' });

  const ca = createCa({ commonName: 'Fleet CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date(NOW - 10 * DAY) });
  const cert = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 90, now: new Date(NOW - 10 * DAY), publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey });
  const board = { broker: 'mqtts://fleet.example.com:8883', operatorKeys: ['k'], certificate: '/f/device.pem', key: '/f/device.key' };
  const on = enrollmentView({ board, mqtt: mqtt({ enabled: true, url: board.broker, deviceId: 'shop-17', clientCertificate: 'board-device', fleet }), certificatePem: cert.certificatePem, enrolling: false, now: NOW });
  t.match(on, { state: 'enrolled', method: 'factory-certificate', serial: 'shop-17', broker: board.broker, certificate: { subject: /CN=shop-17/, daysLeft: 80 } });
  t.equal(on.certificate?.notAfter, new Date(Date.parse(new X509(cert.certificatePem).validTo)).toISOString());

  const tokenBoard = { broker: board.broker, operatorKeys: ['k'], enrollmentTokenFile: '/f/token' };
  const refusal = { code: 'spent', reason: 'the token was used before' };
  t.match(enrollmentView({ board: tokenBoard, mqtt: mqtt({ enabled: false, deviceId: 'shop-18', clientCertificate: 'board-device', fleet: { ...fleet, enabled: false } }), certificatePem: undefined, enrolling: true, refusal, now: NOW }), { state: 'enrolling', method: 'token', refusal });
  t.match(enrollmentView({ board: tokenBoard, mqtt: mqtt({ enabled: false, deviceId: 'shop-18', fleet }), certificatePem: undefined, enrolling: false, now: NOW }), { state: 'off', why: /telemetry is turned off/ }, 'left the fleet by hand');
  t.match(enrollmentView({ board: undefined, mqtt: mqtt({ enabled: true, discovery: { domain: 'fleet.example.net' }, fleet }), certificatePem: undefined, enrolling: false, now: NOW }), { state: 'enrolled', method: 'settings', broker: /_secure-mqtt\._tcp\.fleet\.example\.net/ });
  t.equal(certificateSummary('not a certificate', NOW), undefined, 'text that is not a certificate: none');
});

t.test('/healthz: states, revisions and names; never a value or a field error', async (t) => {
  const view: FleetView = {
    enrollment: { state: 'enrolled', serial: 'shop-17', broker: 'mqtts://b:8883', renewal: { notAfter: 'z', dueAt: '2027-01-30T00:00:00.000Z', failures: 2, waiting: false, switching: false, lastFailure: { code: 'bad-csr', reason: 'the CSR: words', at: 'w' } } },
    configRevision: 9,
    applied: { revision: 'r2', sequence: 5, payloadSha256: 'ab', configRevision: 7, confirmed: true, at: 'x' },
    drift: { configRevision: 9, author: 'admin', sections: ['system'] },
    onLocalChange: { value: 'keep', source: 'default' },
    variables: { sequence: 3, acceptedAt: 'x', shown: [{ name: 'lan', value: '10.17.0.1/24' }, { name: 'psk' }] },
    lastRefused: { outcome: 'refused', code: 'invalid', revision: 'r3', reason: 'the document is not valid', errors: [{ path: 'system.lan.address', code: 'format', message: 'not a valid IPv4 address: 10.999.0.1' }], at: 'y' },
  };
  const h = healthSummary(view);
  t.match(h, { enrollment: { state: 'enrolled', serial: 'shop-17', renewal: { dueAt: '2027-01-30T00:00:00.000Z', failures: 2, lastFailure: 'bad-csr' } }, applied: { revision: 'r2', configRevision: 7 }, configRevision: 9, drift: { sections: ['system'] }, variables: { sequence: 3 }, lastRefused: { code: 'invalid', revision: 'r3' } });
  t.notMatch(JSON.stringify(h), /10\.17\.0\.1|10\.999|IPv4|mqtts:|"lan"|"psk"/, 'no variable value or name, no field error, no broker (/healthz needs no login)');
});
