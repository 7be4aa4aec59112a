// Issue 17: system.dynamicDns in the configuration: what each method needs, refused at its field;
// its secrets (the TSIG key, the update URL, the password) redacted wherever the document is shown.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { withPublicIdentity } from '../../../firmware/config/public-identity.ts';
import { redactConfig } from '../../../firmware/config/redact.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';

const KEY = Buffer.from('a-tsig-key-of-32-bytes-for-tests').toString('base64');
const withDdns = (d: NonNullable<PosternConfig['system']['dynamicDns']>, publicName: string | undefined = 'vpn.branch1.example.com'): PosternConfig => {
  const c = publicName ? withPublicIdentity(defaultConfig(), { publicName }) : defaultConfig();
  c.system.dynamicDns = d;
  return c;
};
const errorsOf = (c: PosternConfig) => {
  const r = validateConfig(c);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.code}`);
};

t.test('RFC 2136: server, zone, key name and key needed; the key is base64 of 16 bytes or more; the name in the zone', async (t) => {
  t.same(errorsOf(withDdns({ enabled: true, method: 'rfc2136', port: 53, ttl: 60 })).sort(), [
    'system.dynamicDns.keyName: required', 'system.dynamicDns.keySecret: required', 'system.dynamicDns.server: required', 'system.dynamicDns.zone: required',
  ]);
  const good = { enabled: true, method: 'rfc2136' as const, server: '192.0.2.53', port: 53, zone: 'example.com', keyName: 'postern-key', keySecret: KEY, ttl: 60 };
  t.same(errorsOf(withDdns(good)), [], 'complete');
  t.same(errorsOf(withDdns({ ...good, keySecret: Buffer.from('elevenbytes').toString('base64') })), ['system.dynamicDns.keySecret: format'], 'an 11-byte key is too short');
  t.same(errorsOf(withDdns({ ...good, keySecret: 'not base64 at all!!' })), ['system.dynamicDns.keySecret: format']);
  t.same(errorsOf(withDdns({ ...good, zone: 'example.org' })), ['system.dynamicDns.zone: mismatch'], 'the public name must be in the zone');
  t.same(errorsOf(withDdns(good, '')), ['system.publicName: required'], 'there must be a public name to update');
  t.same(errorsOf(withDdns({ ...good, enabled: false, keySecret: undefined } as never)), [], 'off: nothing needed');
});

t.test('HTTP: the URL needed, http(s) only', async (t) => {
  t.same(errorsOf(withDdns({ enabled: true, method: 'http', port: 53, ttl: 60 })), ['system.dynamicDns.url: required']);
  t.same(errorsOf(withDdns({ enabled: true, method: 'http', port: 53, ttl: 60, url: 'ftp://x/{name}' })), ['system.dynamicDns.url: format']);
  t.same(errorsOf(withDdns({ enabled: true, method: 'http', port: 53, ttl: 60, url: 'https://members.dyndns.org/nic/update?hostname={name}&myip={address}', username: 'u', password: 'p' })), []);
});

t.test('secrets redacted in the document the API and exports show', async (t) => {
  const c = withDdns({ enabled: true, method: 'rfc2136', server: '192.0.2.53', port: 53, zone: 'example.com', keyName: 'postern-key', keySecret: KEY, ttl: 60, url: 'https://x.example/u?token=SECRET-TOKEN', username: 'u', password: 'Pass-Word-9' });
  const shown = JSON.stringify(redactConfig(c));
  for (const secret of [KEY, 'SECRET-TOKEN', 'Pass-Word-9']) t.notOk(shown.includes(secret), `${secret.slice(0, 6)}… is not shown`);
  t.match(redactConfig(c), { system: { dynamicDns: { keySecret: '<redacted>', url: '<redacted>', password: '<redacted>', keyName: 'postern-key', username: 'u' } } });
});
