import t from 'tap';
import { CAUSES } from '../../../firmware/doctor/causes.ts';
import { addressOf, classify, type DoctorEvent } from '../../../firmware/doctor/classify.ts';

const warn = (msg: string, fields?: Record<string, unknown>): DoctorEvent => ({ kind: 'ike-log', level: 'warn', msg, ...(fields ? { fields } : {}) });

// The engine's own wording (firmware/ike/engine), each with the cause and what Windows shows.
const CASES: Array<[DoctorEvent, string, string, RegExp | undefined]> = [
  [warn('IKE_SA_INIT refused: no acceptable IKE proposal: offered AES_CBC_256/HMAC_SHA1_96/MODP_1024; accepted AES_GCM_16_256/ECP_256', { from: '198.51.100.7:500' }), 'ike-proposal-mismatch', 'ike-init', /13868/],
  [warn('IKE_SA_INIT refused: IKE_SA_INIT request without SA, KE or nonce', { from: '198.51.100.7:500' }), 'ike-malformed', 'ike-init', /809/],
  [warn("IKE_AUTH refused: shared key mismatch for peer 'branch.example' (connection site:branch)", { remote: '198.51.100.7:4500', peerId: 'branch.example' }), 'psk-mismatch', 'ike-auth', /13801/],
  [warn("IKE_AUTH refused: certificate 'CN=alice' is not signed by a trusted CA for peer 'alice' (connection remote-access)", { remote: '198.51.100.7:4500', peerId: 'alice' }), 'untrusted-certificate', 'ike-auth', /13801/],
  [warn("IKE_AUTH refused: certificate 'CN=alice' is not valid now (a to b) for peer 'alice' (connection ra)", { peerId: 'alice' }), 'certificate-expired', 'ike-auth', /13801/],
  [warn("IKE_AUTH refused: certificate 'CN=alice' does not name the ID 'bob' for peer 'bob' (connection ra)", { peerId: 'bob' }), 'certificate-identity-mismatch', 'ike-auth', /13801/],
  [warn("IKE_AUTH refused: no connection for peer ID 'mallory'", { remote: '198.51.100.7:4500', peerId: 'mallory' }), 'unknown-identity', 'ike-auth', /13801/],
  [warn("IKE_AUTH refused: peer 'alice' asked for EAP, which connection ra does not offer", { peerId: 'alice' }), 'auth-method-mismatch', 'ike-auth', /812/],
  [warn("IKE_AUTH refused: peer 'alice' must use EAP on connection ra", { peerId: 'alice' }), 'auth-method-mismatch', 'ike-auth', /812/],
  [warn("EAP refused: MS-CHAPv2 authentication of 'alice' failed", { remote: '198.51.100.7:4500', user: 'alice' }), 'wrong-password', 'eap', /691/],
  [warn("EAP refused: 'alice' refused EAP-MSCHAPv2", { user: 'alice' }), 'eap-method-refused', 'eap', /812/],
  [warn('EAP refused: no EAP identity', { remote: '198.51.100.7:4500' }), 'eap-failed', 'eap', /13801/],
  [warn('child SA refused: NO_PROPOSAL_CHOSEN: no acceptable ESP proposal: offered x; accepted y', { connection: 'ra', peerId: 'alice' }), 'child-proposal-mismatch', 'child', /13868/],
  [warn('child SA refused: TS_UNACCEPTABLE: traffic selectors do not fit', { connection: 'site:branch', peerId: 'branch.example' }), 'traffic-selector-mismatch', 'child', /13868/],
  [warn('IKE SA closed: half-open SA timed out waiting for IKE_AUTH', { spi: '1', remote: '198.51.100.7:500' }), 'auth-timeout', 'ike-auth', /13806.*809|809.*13806/],
  [warn('IKE SA closed: half-open SA timed out waiting for the EAP client', { spi: '1', remote: '198.51.100.7:4500', connection: 'ra' }), 'eap-timeout', 'eap', /13801/],
  [warn('IKE SA closed: no answer to IKE_SA_INIT request 0 after 5 tries', { connection: 'site:branch', remote: '203.0.113.9:500' }), 'no-answer', 'ike-init', /809/],
  [warn('IKE SA closed: the peer refused IKE_AUTH: AUTHENTICATION_FAILED', { connection: 'site:branch', remote: '203.0.113.9:4500' }), 'peer-refused', 'ike-auth', undefined],
  [warn("IKE SA closed: the peer 'branch.example' failed authentication: shared key mismatch", { connection: 'site:branch' }), 'psk-mismatch', 'ike-auth', /13801/],
  [warn('IKE SA closed: the peer answered NO_PROPOSAL_CHOSEN', { connection: 'site:branch' }), 'ike-proposal-mismatch', 'ike-init', /13868/],
  [warn('IKEv1 request from 198.51.100.7:500 refused: this gateway speaks IKEv2 only (answered NO-PROPOSAL-CHOSEN)', { from: '198.51.100.7' }), 'ikev1-client', 'ike-init', /809/],
  [{ kind: 'ppp-auth-failure', protocol: 'sstp', user: 'alice', peer: '198.51.100.7:50123' }, 'sstp-wrong-password', 'ppp-auth', /691/],
  [{ kind: 'ppp-auth-failure', protocol: 'l2tp', user: 'bob', peer: '198.51.100.9' }, 'l2tp-wrong-password', 'ppp-auth', /691/],
  [{ kind: 'ppp-auth-failure', protocol: 'pptp', user: 'carol', peer: '198.51.100.10' }, 'pptp-wrong-password', 'ppp-auth', /691/],
  [{ kind: 'sstp-closed-after-tls', peer: '198.51.100.11:50999' }, 'sstp-certificate-refused', 'tls', /^Error 0x80092013: .*revocation server was offline.*0x800B0109.*0x800B010F/],
  [{ kind: 'ppp-setup-failure', protocol: 'pptp', stage: 'ppp-lcp', reason: 'LCP: no answer', heard: false, peer: '198.51.100.12' }, 'pptp-gre-blocked', 'ppp-lcp', /^Error 806: .*GRE/],
  [{ kind: 'ppp-setup-failure', protocol: 'pptp', stage: 'ppp-lcp', reason: 'the client cleared the call', heard: true, peer: '198.51.100.12' }, 'ppp-negotiation-failed', 'ppp-lcp', /^Error 734/],
  [{ kind: 'ppp-setup-failure', protocol: 'l2tp', stage: 'ppp-lcp', reason: 'LCP: no answer', heard: false, peer: '198.51.100.13' }, 'ppp-negotiation-failed', 'ppp-lcp', /^Error 734/],
  [{ kind: 'ppp-setup-failure', protocol: 'sstp', stage: 'ppp-ncp', reason: 'IPCP: no address left in the pool', heard: true, user: 'dave', peer: '198.51.100.14:50123' }, 'ppp-network-failed', 'ppp-ncp', /^Error 733/],
  [{ kind: 'ppp-setup-failure', protocol: 'pptp', stage: 'ppp-ncp', reason: 'MPPE required: CCP finished (refused)', heard: true, user: 'erin', peer: '198.51.100.15' }, 'ppp-encryption-refused', 'ppp-ncp', /^Error 742/],
  [{ kind: 'sstp-call-failed', reason: 'the SHA-256 Cert Hash is not that of our certificate (a TLS man in the middle?)', peer: '198.51.100.16:50000' }, 'sstp-crypto-binding', 'sstp-call', undefined],
  [{ kind: 'sstp-call-failed', reason: 'the calls limit is reached', peer: '198.51.100.16' }, 'sstp-calls-limit', 'sstp-call', undefined],
  [{ kind: 'sstp-call-failed', reason: 'no Call Connect Request within 60 s', peer: '198.51.100.16:50001' }, 'sstp-call-failed', 'sstp-call', undefined],
  [{ kind: 'l2tp-tunnel-failure', reason: 'L2TP outside IPsec, which the listener requires', address: '198.51.100.17' }, 'l2tp-without-ipsec', 'l2tp-tunnel', undefined],
  [{ kind: 'l2tp-tunnel-failure', reason: 'tunnel authentication failed', address: '198.51.100.17' }, 'l2tp-tunnel-failed', 'l2tp-tunnel', undefined],
];

t.test('each cause: its stage, the explanation, what Windows shows and the fix', async (t) => {
  for (const [event, cause, stage, windows] of CASES) {
    const p = classify(event);
    t.ok(p, `${cause} recognised`);
    if (!p) continue;
    t.equal(p.cause, cause, event.kind === 'ike-log' ? event.msg : cause);
    t.equal(p.stage, stage, `${cause} stage`);
    t.equal(p.explanation, CAUSES[p.cause].explanation);
    t.equal(p.fix, CAUSES[p.cause].fix);
    if (windows) t.match(p.client.windows ?? '', windows, `${cause} Windows error`);
    else t.equal(p.client.windows, undefined, `${cause}: a site has no client screen`);
  }
});

t.test('who and where: users, sites, peers and the source address', async (t) => {
  t.match(classify(CASES[9]![0]), { protocol: 'ikev2', user: 'alice', source: '198.51.100.7' });
  const site = classify(CASES[2]![0]);
  t.match(site, { site: 'branch', peer: 'branch.example', source: '198.51.100.7' });
  t.equal(site?.user, undefined, 'a site is not a user');
  t.match(classify(CASES[16]![0]), { site: 'branch', source: '203.0.113.9' });
  t.match(classify(CASES[21]![0]), { protocol: 'sstp', user: 'alice', source: '198.51.100.7' });
  t.match(classify({ kind: 'ppp-auth-failure', protocol: 'sstp', peer: '[2001:db8::5]:443' }), { source: '2001:db8::5', detail: /\(no name\)/ });
  t.match(classify(CASES[22]![0]), { protocol: 'l2tp', user: 'bob', source: '198.51.100.9' });
  t.match(classify(CASES[23]![0]), { protocol: 'pptp', user: 'carol', source: '198.51.100.10' });
  t.match(classify(CASES[28]![0]), { protocol: 'sstp', user: 'dave', source: '198.51.100.14', detail: /before its network came up: IPCP: no address left/ });
  t.match(classify(CASES[30]![0]), { protocol: 'sstp', source: '198.51.100.16', detail: /SSTP call failed: the SHA-256 Cert Hash/ });
  t.match(classify(CASES[33]![0]), { protocol: 'l2tp', source: '198.51.100.17' });
  const tls = classify(CASES[24]![0]);
  t.match(tls, { protocol: 'sstp', source: '198.51.100.11', fix: /TCP 80/ });
  t.equal(tls?.user, undefined, 'no login happened: no user');
  t.equal(addressOf('[2001:db8::1]:500'), '2001:db8::1');
  t.equal(addressOf('192.0.2.1:4500'), '192.0.2.1');
  t.equal(addressOf('192.0.2.1'), '192.0.2.1');
});

t.test('the detail keeps the gateway\'s own words', async (t) => {
  t.equal(classify(CASES[0]![0])?.detail, (CASES[0]![0] as { msg: string }).msg);
});

t.test('not a failed attempt: info lines, normal retries, and closes a refusal line already reported', async (t) => {
  t.equal(classify({ kind: 'ike-log', level: 'info', msg: 'IKE SA closed: deleted by the peer' }), undefined);
  t.equal(classify({ kind: 'ike-log', level: 'info', msg: "IKE_AUTH refused: shared key mismatch for peer 'x'" }), undefined, 'only warn lines');
  t.equal(classify(warn('IKE_SA_INIT refused: KE for group 19, asking for 31')), undefined, 'INVALID_KE_PAYLOAD is a normal retry');
  t.equal(classify(warn("IKE SA closed: authentication failed: shared key mismatch for peer 'x'")), undefined, 'already reported as IKE_AUTH refused');
  t.equal(classify(warn("IKE SA closed: MS-CHAPv2 authentication of 'alice' failed")), undefined, 'already reported as EAP refused');
  t.equal(classify(warn('CREATE_CHILD_SA refused: NO_PROPOSAL_CHOSEN')), undefined, 'a rekey on an established SA');
  t.equal(classify(warn('some other warning')), undefined);
});

t.test('an IKE_AUTH refusal the doctor does not know is still recorded, as other', async (t) => {
  t.match(classify(warn('IKE_AUTH refused: no IDi payload', { remote: '198.51.100.7:4500' })), { cause: 'other', stage: 'ike-auth', source: '198.51.100.7' });
});

t.test('the catalogue: every cause has an explanation and a fix in plain words', async (t) => {
  for (const [code, info] of Object.entries(CAUSES)) {
    t.ok(info.explanation.length > 20 && info.fix.length > 10, code);
    t.notMatch(info.explanation, /NO_PROPOSAL_CHOSEN|AUTHENTICATION_FAILED/, `${code}: no protocol jargon`);
  }
});
