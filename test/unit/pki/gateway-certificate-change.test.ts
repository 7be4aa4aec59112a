import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { withPublicIdentity } from '../../../firmware/config/public-identity.ts';
import { ikeSpec } from '../../../firmware/ike/ike-subsystem.ts';
import { onlyGatewayCertificateChanged } from '../../../firmware/pki/gateway-certificate-change.ts';
import { sstpSpec } from '../../../firmware/sstp/sstp-subsystem.ts';

// The slices the supervisor compares: a change inside them either swaps the certificate or restarts.
const ike = ikeSpec(() => { throw new Error('not created'); }).slice;
const sstp = sstpSpec(() => { throw new Error('not created'); }).slice;

t.test('a new public name or ACME settings: a certificate swap, no restart, for IKEv2 and SSTP', async (t) => {
  const before = defaultConfig();
  const renamed = withPublicIdentity(before, { publicName: 'vpn.branch.example' });
  t.notSame(renamed.certificates.server, before.certificates.server, 'the public name lands in the certificate names');
  t.notSame(ike(renamed), ike(before), 'the supervisor sees a change');
  for (const slice of [ike, sstp]) {
    t.ok(onlyGatewayCertificateChanged(before, renamed, slice));
    const acme = { ...renamed, certificates: { ...renamed.certificates, acme: { enabled: true, directoryUrl: 'https://acme.example/dir', challenge: 'http-01' as const } } };
    t.ok(onlyGatewayCertificateChanged(renamed, acme, slice));
  }
});

t.test('anything else restarts: trusted CAs, revocation policy, users, the listener', async (t) => {
  const before = defaultConfig();
  const revocation = { ...before, certificates: { ...before.certificates, revocation: 'soft' as const } };
  const listener = { ...before, listeners: { ...before.listeners, ikev2: { ...before.listeners.ikev2, mobike: !before.listeners.ikev2.mobike } } };
  const both = withPublicIdentity(listener, { publicName: 'vpn.branch.example' });
  t.notOk(onlyGatewayCertificateChanged(before, revocation, ike));
  t.notOk(onlyGatewayCertificateChanged(before, listener, ike));
  t.notOk(onlyGatewayCertificateChanged(before, both, ike), 'a certificate change together with another one still restarts');
  t.ok(onlyGatewayCertificateChanged(before, listener, sstp), 'an IKEv2 setting is nothing to SSTP');
});
