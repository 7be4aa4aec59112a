// The site Test for IKEv1 sites (issue 19): two IKEv1 engines back to back on a simulated clock stand
// for the site and its peer; what the test would see at its deadline (the SA's own history) becomes
// the steps and the doctor's cause, for a working site and each way a dial fails.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { ikev1DialProgress, ikev1TestResult, type Ikev1DialObservation } from '../../../firmware/sites/ikev1-site-test.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const DEADLINE_MS = 12_000; // the subsystem's default

/** Dials site hq (A) to its peer (B) and looks at the dial's SA when the test's deadline comes, as the shell does. */
function dial(overA: Partial<IkeConnection> = {}, overB: Partial<IkeConnection> = {}, before: (p: Ikev1Pair) => void = () => {}): Ikev1DialObservation {
  const base = { ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('site:hq', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('site:branch', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  before(pair);
  pair.take('a', a.initiate('site:hq', { address: A, port: 500 }, 0));
  pair.run(DEADLINE_MS);
  const sa = a.sas.find((s) => s.initiator)!;
  const seen = ikev1DialProgress(sa);
  const finished = (seen.reached === 'established' && seen.children > 0) || sa.state === 'closed';
  return { address: sa.remote.address, mode: overA.aggressive ? 'Aggressive' : 'Main', auth: overA.peerAuth === 'certificate' ? 'certificate' : 'psk', ...seen, timedOut: !finished, elapsedMs: Math.min(pair.now, DEADLINE_MS) };
}

const outcomes = (r: ReturnType<typeof ikev1TestResult>) => r.steps.map((s) => `${s.id}:${s.outcome}`);

t.test('a working site: peer, Main Mode, Quick Mode ok; ping skipped without an address to ping', async (t) => {
  const r = ikev1TestResult('hq', dial());
  t.match(r, { site: 'hq', protocol: 'ikev1', available: true, ok: true });
  t.same(outcomes(r), ['peer:ok', 'phase1:ok', 'quick-mode:ok', 'ping:skipped']);
  t.equal(r.steps[0]!.detail, B);
  t.notOk(r.problem);
  const pinged = ikev1TestResult('hq', { ...dial(), ping: { target: '10.2.0.1', received: 3, sent: 3 } });
  t.equal(pinged.steps[3]!.outcome, 'ok');
  t.match(pinged.steps[3]!.detail, /3 of 3 answered/);
});

t.test('Aggressive Mode is named in its step', async (t) => {
  const r = ikev1TestResult('hq', dial({ aggressive: true, localId: 'hq.example' }, { aggressive: true, remoteId: 'hq.example' }));
  t.ok(r.ok);
  t.match(r.steps[1]!.label, /^Aggressive Mode/);
});

t.test('a wrong PSK: Main Mode fails at message 5, explained as a PSK mismatch', async (t) => {
  const o = dial({}, { psk: new Secret('another key entirely') });
  t.equal(o.reached, 'keys');
  const r = ikev1TestResult('hq', o);
  t.same(outcomes(r), ['peer:ok', 'phase1:failed', 'quick-mode:not-reached', 'ping:not-reached']);
  t.match(r.problem, { cause: 'psk-mismatch', detail: /message 5.*pre-shared keys differ/ });
});

t.test('a wrong PSK in Aggressive Mode: the engine\'s own words (HASH_R) give the cause', async (t) => {
  const r = ikev1TestResult('hq', dial({ aggressive: true, localId: 'hq.example' }, { aggressive: true, remoteId: 'hq.example', psk: new Secret('another key entirely') }));
  t.match(r.problem, { cause: 'psk-mismatch', detail: /HASH_R does not match/ });
});

t.test('no proposal in common: the peer\'s refusal, a proposal mismatch', async (t) => {
  const r = ikev1TestResult('hq', dial({ ike: ['aes128-sha1-modp2048'] } as Partial<IkeConnection>, { ike: ['aes256-sha256-modp4096'] } as Partial<IkeConnection>));
  t.same(outcomes(r), ['peer:ok', 'phase1:failed', 'quick-mode:not-reached', 'ping:not-reached']);
  t.match(r.problem, { cause: 'ike-proposal-mismatch', detail: /NO-PROPOSAL-CHOSEN/ });
});

t.test('no answer at all: no-answer, with the fix to open UDP 500/4500', async (t) => {
  const r = ikev1TestResult('hq', dial({}, {}, (p) => void (p.filter = () => 'drop')));
  t.same(outcomes(r), ['peer:ok', 'phase1:failed', 'quick-mode:not-reached', 'ping:not-reached']);
  t.match(r.problem, { cause: 'no-answer', detail: /no answer to Main Mode within the test's time/, fix: /UDP 500 and 4500/ });
});

t.test('the peer sends another ID than expected: peer-id-mismatch', async (t) => {
  const r = ikev1TestResult('hq', dial({}, { localId: 'branch.example' }));
  t.match(r.problem, { cause: 'peer-id-mismatch', detail: /the peer's ID branch\.example is not the expected 192\.0\.2\.2/ });
});

t.test('phase 1 up but no IPsec SA: the Quick Mode step fails', async (t) => {
  const o = dial({ esp: ['aes128-sha1'] } as Partial<IkeConnection>, { esp: ['aes256gcm16'] } as Partial<IkeConnection>);
  t.equal(o.reached, 'established');
  const r = ikev1TestResult('hq', o);
  t.same(outcomes(r), ['peer:ok', 'phase1:ok', 'quick-mode:failed', 'ping:not-reached']);
  t.equal(r.problem?.cause, 'child-refused');
});

t.test('already up: reported without a dial', async (t) => {
  const r = ikev1TestResult('hq', { address: B, mode: 'Main', auth: 'psk', reached: 'established', children: 1, timedOut: false, alreadyUp: true, elapsedMs: 0 });
  t.ok(r.ok);
  t.equal(r.steps[2]!.detail, 'the site was already up');
});
