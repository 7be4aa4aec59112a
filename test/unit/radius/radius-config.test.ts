// Issue 21 configuration: radius.servers[] validated by the schema tables, the shared secret
// redacted wherever the configuration is shown, and a listener asking RADIUS needs a server.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { redactConfig } from '../../../firmware/config/redact.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { radiusServersOf } from '../../../firmware/radius/radius-from-config.ts';

const base = () => structuredClone(defaultConfig());
const issues = (doc: unknown) => {
  const v = validateConfig(doc);
  return v.ok ? [] : v.errors.map((e) => `${e.path}: ${e.code}`);
};

t.test('radius.servers: accepted when well formed, refused field by field, secret redacted', async (t) => {
  const doc = { ...base(), radius: { nasIdentifier: 'branch-1', servers: [{ name: 'hq1', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: 'a-long-shared-secret' }] } };
  t.same(issues(doc), []);
  const redacted = redactConfig(doc) as typeof doc;
  t.equal(redacted.radius.servers[0]!.secret, '<redacted>');
  t.notMatch(JSON.stringify(redactConfig(doc)), /a-long-shared-secret/);
  const bad = { ...base(), radius: { servers: [{ name: 'hq1', address: 'not-an-ip', authPort: 0, acctPort: 1813, secret: 'short' }, { name: 'hq1', address: '10.0.0.1', authPort: 1812, acctPort: 1813, secret: 'long-enough-secret' }] } };
  t.match(issues(bad), ['radius.servers[0].address: format', 'radius.servers[0].authPort: range', 'radius.servers[0].secret: length', 'radius.servers[1].name: duplicate']);
});

t.test('radius.servers[].timeoutSeconds and retries: optional, bounded, and given to the client per server', async (t) => {
  const server = { name: 'hq1', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: 'a-long-shared-secret' };
  const doc = { ...base(), radius: { servers: [{ ...server, timeoutSeconds: 1, retries: 1 }, { ...server, name: 'hq2' }] } };
  t.same(issues(doc), []);
  const [first, second] = radiusServersOf(doc as never);
  t.match(first, { name: 'hq1', initialTimeoutMs: 1000, maxRetransmits: 1 });
  t.notOk(second && ('initialTimeoutMs' in second || 'maxRetransmits' in second), 'none set: the client\'s defaults');
  const bad = { ...base(), radius: { servers: [{ ...server, timeoutSeconds: 0, retries: 9 }] } };
  t.match(issues(bad), ['radius.servers[0].timeoutSeconds: range', 'radius.servers[0].retries: range']);
});

t.test('listeners.sstp.auth: local by default; radius needs a server', async (t) => {
  t.same(issues(base()), [], 'absent: local users, as before');
  const doc = base();
  doc.listeners.sstp.auth = 'radius-then-local';
  t.match(issues(doc), ['listeners.sstp.auth: required']);
  doc.listeners.sstp.auth = 'fallback' as never;
  t.match(issues(doc), ['listeners.sstp.auth: enum']);
});

t.test('listeners.ikev2.userAuth: local by default; radius needs a server; beside auth (the method)', async (t) => {
  const doc = base();
  doc.listeners.ikev2.userAuth = 'radius';
  t.match(issues(doc), ['listeners.ikev2.userAuth: required']);
  const withServer = { ...doc, radius: { servers: [{ name: 'hq1', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: 'a-long-shared-secret' }] } };
  t.same(issues(withServer), [], 'with a server: accepted, auth stays eap-mschapv2');
  doc.listeners.ikev2.userAuth = 'nps' as never;
  t.match(issues(doc), ['listeners.ikev2.userAuth: enum']);
});

t.test('listeners.l2tp.auth: local by default; radius needs a server', async (t) => {
  const doc = base();
  doc.listeners.l2tp.auth = 'radius-then-local';
  t.match(issues(doc), ['listeners.l2tp.auth: required']);
  doc.listeners.l2tp.auth = 'ldap' as never;
  t.match(issues(doc), ['listeners.l2tp.auth: enum']);
});

t.test('listeners.ikev2.eapPassThrough: only with userAuth radius (no local fallback for a relayed method)', async (t) => {
  const doc = { ...base(), radius: { servers: [{ name: 'hq1', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: 'a-long-shared-secret' }] } };
  doc.listeners.ikev2.eapPassThrough = true;
  t.match(issues(doc), ['listeners.ikev2.eapPassThrough: conflict'], 'local users');
  doc.listeners.ikev2.userAuth = 'radius-then-local';
  t.match(issues(doc), ['listeners.ikev2.eapPassThrough: conflict'], 'radius then local');
  doc.listeners.ikev2.userAuth = 'radius';
  t.same(issues(doc), []);
});

t.test('radius.dynamicAuthorization: clients validated, their secrets redacted; off unless enabled', async (t) => {
  const das = { enabled: true, port: 3799, clients: [{ name: 'hq', address: '10.9.1.1', secret: 'das-client-secret' }] };
  const doc = { ...base(), radius: { servers: [], dynamicAuthorization: das } };
  t.same(issues(doc), []);
  t.notMatch(JSON.stringify(redactConfig(doc)), /das-client-secret/, 'the DAS client secret redacted');
  t.equal((redactConfig(doc) as typeof doc).radius.dynamicAuthorization.clients[0]!.secret, '<redacted>');
  const bad = { ...base(), radius: { servers: [], dynamicAuthorization: { ...das, listen: 'lan', port: 0, clients: [{ name: 'hq', address: '10.9.1.300', secret: 'short' }] } } };
  t.match(issues(bad), ['radius.dynamicAuthorization.listen: format', 'radius.dynamicAuthorization.port: range', 'radius.dynamicAuthorization.clients[0].address: format', 'radius.dynamicAuthorization.clients[0].secret: length']);
});

t.test('RadSec servers: no shared secret needed (it is "radsec"), an imported key redacted, certificate and key together', async (t) => {
  const ca = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(80)}\n-----END CERTIFICATE-----`;
  const doc = { ...base(), radius: { servers: [{ name: 'hq1', address: '203.0.113.5', authPort: 1812, acctPort: 1813, radsec: { ca, clientCertificate: ca, clientKey: '-----BEGIN PRIVATE KEY-----secret-key-bytes' } }] } };
  t.same(issues(doc), []);
  t.notMatch(JSON.stringify(redactConfig(doc)), /secret-key-bytes/, 'the client key redacted');
  const udpWithout = { ...base(), radius: { servers: [{ name: 'hq1', address: '10.9.1.1', authPort: 1812, acctPort: 1813 }] } };
  t.match(issues(udpWithout), ['radius.servers[0].secret: required'], 'over UDP the secret is required');
  const half = { ...base(), radius: { servers: [{ name: 'hq1', address: '203.0.113.5', authPort: 1812, acctPort: 1813, radsec: { ca, clientCertificate: ca } }] } };
  t.match(issues(half), ['radius.servers[0].radsec.clientKey: required']);
  const { radiusServersOf } = await import('../../../firmware/radius/radius-from-config.ts');
  t.match(radiusServersOf(doc as never)[0], { transport: 'tls', authPort: 2083, acctPort: 2083 });
  t.equal(Buffer.from(radiusServersOf(doc as never)[0]!.secret.reveal()).toString(), 'radsec', 'RFC 6614 §2.3');
});
