// A certificate issued to a VPN user (issue 17) is refused while the user is disabled or gone, and
// accepted again once the user is enabled: the own CA's answer looks the user up in the
// configuration (userStateFrom), whatever the revocation policy; the live-session sweep ends it.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { revokedSessions } from '../../../firmware/ike/shell/revocation-sweep.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { userStateFrom } from '../../../firmware/revocation/from-config.ts';
import { chainRevocationVerdict } from '../../../firmware/revocation/revocation-policy.ts';
import { RevocationService } from '../../../firmware/revocation/revocation-service.ts';
import { makeRevocationPki } from '../../lab/revocation-pki.ts';
import { labSkip } from '../../lab/skip.ts';

const skip = labSkip(spawnSync('openssl', ['version']).status === 0 ? false : 'openssl CLI not installed');
const log = createLogger({ level: 'error', sink: () => undefined });

function withUsers(users: Array<{ name: string; enabled: boolean }>): PosternConfig {
  return { ...defaultConfig(), users: users.map((u) => ({ ...u, ntHash: '0'.repeat(32) })) };
}

t.test('disabled → refused with the reason, enabled again → accepted, removed → refused; other certificates untouched', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const state = mkdtempSync(join(tmpdir(), 'postern-suspend-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  mkdirSync(join(state, 'pki'));
  const alice = pki.issue('alice.example', {});
  const bob = pki.issue('bob.example', {});
  const site = pki.issue('site.example', {});
  writeFileSync(join(state, 'pki', 'issued.json'), JSON.stringify([
    { name: 'alice-laptop', user: 'alice', identity: 'alice@vpn.example', serialHex: alice.serialHex, notAfter: '2030-01-01T00:00:00Z' },
    { name: 'bob-phone', user: 'bob', serialHex: bob.serialHex, notAfter: '2030-01-01T00:00:00Z' },
    { name: 'site', serialHex: site.serialHex, notAfter: '2030-01-01T00:00:00Z' },
  ]));
  const ca = new X509Certificate(pki.ca.certificatePem);
  let config = withUsers([{ name: 'alice', enabled: false }, { name: 'bob', enabled: true }]);
  const policies = ['hard', 'off'] as const;
  for (const policy of policies) {
    const service = new RevocationService({ log, own: { ca, stateDir: state, policy }, userState: (u) => userStateFrom(config)(u), fetch: () => Promise.reject(new Error('no HTTP for our own CA')) });
    t.teardown(() => service.close());
    const cert = new X509Certificate(alice.certificatePem);
    config = withUsers([{ name: 'alice', enabled: false }, { name: 'bob', enabled: true }]);
    t.same(service.check(cert, ca).status, { status: 'suspended', source: "Postern's user list", why: 'the user alice is disabled' }, `${policy}: disabled`);
    const verdict = chainRevocationVerdict([{ certificate: cert, issuer: ca }], service, new Date());
    t.equal(verdict.verdict, 'refuse', `${policy}: the engines refuse it`);
    t.match(verdict.verdict === 'refuse' ? verdict.reason : '', /CN=alice\.example.* is refused: the user alice is disabled \(Postern's user list\)/);
    t.equal(chainRevocationVerdict([{ certificate: new X509Certificate(bob.certificatePem), issuer: ca }], service, new Date()).verdict, 'accept', `${policy}: an enabled user's certificate passes`);
    t.equal(chainRevocationVerdict([{ certificate: new X509Certificate(site.certificatePem), issuer: ca }], service, new Date()).verdict, 'accept', `${policy}: a certificate of no user passes`);
    config = withUsers([{ name: 'alice', enabled: true }, { name: 'bob', enabled: true }]);
    t.equal(chainRevocationVerdict([{ certificate: cert, issuer: ca }], service, new Date()).verdict, 'accept', `${policy}: enabled again → accepted (not revoked)`);
    config = withUsers([{ name: 'bob', enabled: true }]);
    t.match(service.check(cert, ca).status, { status: 'suspended', why: 'the user alice no longer exists' }, `${policy}: removed`);
  }
});

t.test('the live-session sweep ends an SA of a disabled user, not the others', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const state = mkdtempSync(join(tmpdir(), 'postern-suspend-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  mkdirSync(join(state, 'pki'));
  const alice = pki.issue('alice.example', {});
  const bob = pki.issue('bob.example', {});
  writeFileSync(join(state, 'pki', 'issued.json'), JSON.stringify([
    { name: 'a', user: 'alice', serialHex: alice.serialHex, notAfter: '2030-01-01T00:00:00Z' },
    { name: 'b', user: 'bob', serialHex: bob.serialHex, notAfter: '2030-01-01T00:00:00Z' },
  ]));
  const ca = new X509Certificate(pki.ca.certificatePem);
  let config = withUsers([{ name: 'alice', enabled: true }, { name: 'bob', enabled: true }]);
  const service = new RevocationService({ log, own: { ca, stateDir: state, policy: 'hard' }, userState: (u) => userStateFrom(config)(u) });
  t.teardown(() => service.close());
  const sa = (leaf: typeof alice, name: string) => ({ name, state: 'established', peerCertificate: { certificate: new X509Certificate(leaf.certificatePem), issuer: ca } });
  const sas = [sa(alice, 'alice'), sa(bob, 'bob')];
  t.same(revokedSessions(sas, service, new Date()), [], 'both enabled: nothing ended');
  config = withUsers([{ name: 'alice', enabled: false }, { name: 'bob', enabled: true }]);
  const ended = revokedSessions(sas, service, new Date());
  t.same(ended.map((e) => e.sa.name), ['alice']);
  t.match(ended[0]?.reason, /the user alice is disabled/);
});
