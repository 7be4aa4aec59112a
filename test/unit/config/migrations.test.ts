import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { CURRENT_VERSION, migrate } from '../../../firmware/config/migrations.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { ntHashHex } from '../../../firmware/crypto/user-credential.ts';

/** A format-1 document as an older firmware wrote it: `peers` and users' `secret`. */
function v1Fixture(): Record<string, unknown> {
  const { sites: _sites, users: _users, ...rest } = defaultConfig();
  return {
    ...rest,
    version: 1,
    users: [{ name: 'bob', secret: 'old-password-1', enabled: true }],
    peers: [{ name: 'hq', protocol: 'ikev2', remote: '198.51.100.1', localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.0.0.0/8'], auth: 'psk', psk: 'a-long-shared-secret', initiate: true, enabled: true }],
  };
}

t.test('v1 → v2 → v3 renames peers and secret, hashes the password, and the result validates', async (t) => {
  const { doc, from, to } = migrate(v1Fixture());
  t.same([from, to], [1, CURRENT_VERSION]);
  const d = doc as Record<string, any>;
  t.equal(d['peers'], undefined);
  t.equal(d['sites'][0].name, 'hq');
  t.same(d['users'][0], { name: 'bob', enabled: true, ntHash: ntHashHex('old-password-1') });
  t.ok(validateConfig(doc).ok);
});

t.test('a current document passes through unchanged', async (t) => {
  const c = defaultConfig();
  t.equal(migrate(c).doc, c);
});

t.test('a future format is refused with a stable code', async (t) => {
  t.throws(() => migrate({ ...defaultConfig(), version: CURRENT_VERSION + 1 }), { code: 'POSTERN_ERR_CONFIG_MIGRATION' });
});

t.test('junk is left for validation to report', async (t) => {
  for (const junk of [null, 3, [], { version: 'x' }, { version: 0 }]) t.same(migrate(junk).doc, junk);
});

t.test('issue 15.11: v2 → v3 keeps no clear password, only its NT hash (RFC 2759 §8.3 known answer)', async (t) => {
  const v2 = { ...defaultConfig(), version: 2, users: [{ name: 'User', password: 'clientPass', enabled: true, staticIPv4: '10.10.0.9' }, { name: 'odd', enabled: false }] };
  const { doc, from, to } = migrate(v2);
  t.same([from, to], [2, 3]);
  const users = (doc as { users: unknown[] }).users;
  // RFC 2759 §9.2: NtPasswordHash("clientPass") = 44EBBA8D5312B8D611474411F56989AE.
  t.same(users[0], { name: 'User', enabled: true, staticIPv4: '10.10.0.9', ntHash: '44ebba8d5312b8d611474411f56989ae' });
  t.same(users[1], { name: 'odd', enabled: false }, 'a user without a password is left for validation to report');
  t.notOk(JSON.stringify(doc).includes('clientPass'), 'the password is gone');
  t.same(validateConfig(doc).ok ? [] : (validateConfig(doc) as { errors: Array<{ path: string }> }).errors.map((e) => e.path), ['users[1].ntHash']);
});
