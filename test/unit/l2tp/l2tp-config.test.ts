// listeners.l2tp in the configuration (issue 20): the IKEv1 transport-mode responder it gives the IKE
// subsystem (any address, group PSK, UDP 1701 both ends), the tunnel secret's bounds, and plain L2TP
// flagged insecure, and its DPD settings.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { L2TP_IKEV1_CONNECTION, ikev1ConnectionsFromConfig } from '../../../firmware/ikev1/ikev1-connections.ts';
import { listenerAuthMethods } from '../../../firmware/access/ppp-authenticators.ts';

const enabled = () => {
  const c = defaultConfig();
  c.listeners.l2tp = { ...c.listeners.l2tp, enabled: true, psk: 'group-psk-0123' };
  return c;
};

t.test('an enabled L2TP listener gives IKEv1 a transport-mode responder for UDP 1701 from any address', async (t) => {
  t.same(ikev1ConnectionsFromConfig(defaultConfig()), [], 'none while L2TP is off');
  const c = enabled();
  const [conn, ...rest] = ikev1ConnectionsFromConfig(c);
  t.equal(rest.length, 0);
  t.match(conn, { name: L2TP_IKEV1_CONNECTION, mode: 'transport', transportSelector: { protocol: 17, port: 1701 }, localTs: [], remoteTs: [], mobike: false });
  t.equal(conn!.remoteAddress, undefined, 'clients come from anywhere');
  t.equal(conn!.psk.reveal(), 'group-psk-0123');
  t.equal(String(conn!.psk), '<redacted>');
  t.notOk(conn!.peerAuth, 'PSK unless the listener says certificate');
  c.listeners.l2tp.ipsec = { auth: 'psk', proposals: { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'] } };
  t.equal(ikev1ConnectionsFromConfig(c)[0]!.ikeProposals.length, 1, 'the listener\'s own proposals replace the defaults');
});

t.test('the tunnel secret has bounds; plain L2TP validates but is flagged insecure', async (t) => {
  const c = enabled();
  t.ok(validateConfig(c).ok);
  t.notOk(validateConfig(c).warnings.some((w) => w.path === 'listeners.l2tp.allowPlain'), 'no plain-L2TP warning by default');
  c.listeners.l2tp.secret = 'short';
  const r = validateConfig(c);
  t.ok(!r.ok && r.errors.some((e) => e.path === 'listeners.l2tp.secret'), 'a secret under 8 characters is refused at its field');
  c.listeners.l2tp.secret = 'tunnel-secret-1';
  c.listeners.l2tp.allowPlain = true;
  const plain = validateConfig(c);
  t.ok(plain.ok, JSON.stringify(plain));
  t.ok(plain.warnings.some((w) => w.path === 'listeners.l2tp.allowPlain' && w.code === 'insecure'), JSON.stringify(plain.warnings));
});

t.test('CHAP-MD5 and PAP for L2TP only with legacyAuth (issue 21): offered after MS-CHAPv2 and EAP, flagged insecure', async (t) => {
  const c = enabled();
  t.same(listenerAuthMethods(c.listeners.l2tp.legacyAuth), ['mschapv2', 'eap'], 'MS-CHAPv2 and EAP by default');
  t.notOk(validateConfig(c).warnings.some((w) => w.path === 'listeners.l2tp.legacyAuth'));
  c.listeners.l2tp.legacyAuth = true;
  t.same(listenerAuthMethods(c.listeners.l2tp.legacyAuth), ['mschapv2', 'eap', 'mschapv1', 'chap-md5', 'pap'], 'then MS-CHAPv1, CHAP-MD5 and PAP');
  const legacy = validateConfig(c);
  t.ok(legacy.ok, JSON.stringify(legacy));
  t.ok(legacy.warnings.some((w) => w.path === 'listeners.l2tp.legacyAuth' && w.code === 'insecure'), JSON.stringify(legacy.warnings));
});

t.test('DPD for L2TP/IPsec clients: 30 s and the engine\'s tries by default, the listener\'s own when set, bounded', async (t) => {
  const c = enabled();
  t.match(ikev1ConnectionsFromConfig(c)[0], { dpdSeconds: 30 });
  t.equal(ikev1ConnectionsFromConfig(c)[0]!.dpdTimeoutSeconds, undefined, 'no timeout of its own by default');
  c.listeners.l2tp.ipsec = { auth: 'psk', dpdSeconds: 10, dpdTimeoutSeconds: 20 };
  t.ok(validateConfig(c).ok);
  t.match(ikev1ConnectionsFromConfig(c)[0], { dpdSeconds: 10, dpdTimeoutSeconds: 20 });
  c.listeners.l2tp.ipsec = { auth: 'psk', dpdSeconds: 1 };
  const r = validateConfig(c);
  t.ok(!r.ok && r.errors.some((e) => e.path === 'listeners.l2tp.ipsec.dpdSeconds'), 'under 5 s is refused at its field');
});
