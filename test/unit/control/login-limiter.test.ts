// Issue 15.5: per-account backoff plus per-source limits whose memory volume cannot flush, on a fake clock.
import t from 'tap';
import { LoginGuard } from '../../../firmware/control/login-guard.ts';
import { LoginLimiter } from '../../../firmware/control/login-limiter.ts';
import { SourceThrottle, sourceKeys } from '../../../firmware/control/source-throttle.ts';

const clock = () => {
  const c = { now: 1_000_000, tick: (ms: number) => void (c.now += ms) };
  return c;
};
const fail = (l: { failure(a: string, s: string): void }, source: string, n: number, account = 'admin') => {
  for (let i = 0; i < n; i++) l.failure(account, source);
};

t.test('issue 15.5: a flush of other sources does not free a locked address', async (t) => {
  const c = clock();
  const limiter = new LoginLimiter({ now: () => c.now });
  fail(limiter, '198.51.100.7', 5, 'nobody');
  t.equal(limiter.assess('nobody', '198.51.100.7').verdict, 'check');
  t.match(limiter.assess('admin', '198.51.100.7'), { throttled: true, retryAfterSeconds: 30 }, 'locked for 30 s');
  // The old table forgot it after 1,024 others: here 5,000 others fail once each.
  for (let i = 0; i < 5000; i++) limiter.failure(`other-${i % 7}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  t.match(limiter.assess('admin', '198.51.100.7'), { throttled: true }, 'still locked after the flood');
  t.ok(limiter.tracked.sources <= 4096, 'and the table stayed bounded');
  // Worse: 5,000 others each get themselves locked, more than the table holds.
  for (let i = 0; i < 5000; i++) fail(limiter, `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, 5, 'nobody');
  t.match(limiter.assess('admin', '198.51.100.7'), { throttled: true }, 'still locked when the table is full of locks');
  t.same([limiter.tracked.sources, limiter.tracked.aggregates > 0], [4096, true], 'bounded; the overflow went to /24 aggregates');
  c.tick(31_000);
  t.match(limiter.assess('admin', '198.51.100.7'), { throttled: false }, 'the lock runs out on time');
});

t.test('issue 15.5: a table full of locked sources aggregates newcomers, then throttles the unknown', async (t) => {
  const c = clock();
  const s = new SourceThrottle({ now: () => c.now, maxSources: 4, maxAggregates: 2 });
  for (let i = 1; i <= 4; i++) for (let k = 0; k < 5; k++) s.failure(`192.0.2.${i}`);
  for (let k = 0; k < 5; k++) s.failure('203.0.113.10');
  t.equal(s.counters.aggregated, 5, 'kept on its /24');
  t.match(s.state('203.0.113.99'), { throttled: true }, 'the /24 is locked for everyone in it');
  t.match(s.state('203.0.114.1'), { throttled: false }, 'another /24 is not');
  for (let k = 0; k < 5; k++) s.failure('198.51.100.1');
  t.same(s.tracked, { sources: 4, aggregates: 2 });
  t.match(s.state('100.64.0.1'), { throttled: true, lockedForMs: 0 }, 'both tables full of locks: an unknown source is throttled, nobody is forgotten');
  s.failure('100.64.0.1');
  t.equal(s.counters.untracked, 1);
  for (let i = 1; i <= 4; i++) t.match(s.state(`192.0.2.${i}`), { throttled: true }, `192.0.2.${i} still locked`);
  c.tick(31_000);
  t.match(s.state('100.64.0.1'), { throttled: false }, 'room again once locks expire');
  s.failure('100.64.0.1');
  t.equal(s.tracked.sources, 4, 'an expired lock made room');
});

t.test('issue 15.5: unlocked records are the ones evicted, least recently seen first', async (t) => {
  const c = clock();
  const s = new SourceThrottle({ now: () => c.now, maxSources: 3 });
  for (let k = 0; k < 5; k++) s.failure('192.0.2.1');
  s.failure('192.0.2.2');
  s.failure('192.0.2.3');
  s.failure('192.0.2.4'); // evicts .2, the oldest unlocked
  s.failure('192.0.2.3');
  s.failure('192.0.2.5'); // evicts .4
  t.equal(s.counters.aggregated, 0);
  t.match(s.state('192.0.2.1'), { throttled: true });
  for (let k = 0; k < 3; k++) s.failure('192.0.2.3');
  t.match(s.state('192.0.2.3'), { throttled: true }, '.3 kept its count through the churn (2 + 3 = 5)');
});

t.test('issue 15.5: IPv6 sources count per /64, IPv4-mapped as IPv4', async (t) => {
  t.same(sourceKeys('2001:db8:1:2::1'), sourceKeys('2001:db8:1:2:ffff:ffff:ffff:ffff'));
  t.same(sourceKeys('2001:db8:1:2::1'), { exact: '2001:db8:1:2::/64', aggregate: '2001:db8:1::/48' });
  t.same(sourceKeys('::ffff:192.0.2.9'), { exact: '192.0.2.9', aggregate: '192.0.2.0/24' });
  const c = clock();
  const s = new SourceThrottle({ now: () => c.now });
  for (let k = 0; k < 5; k++) s.failure(`2001:db8:1:2::${k + 1}`);
  t.match(s.state('2001:db8:1:2::abcd'), { throttled: true }, 'a new address in the same /64 is the same source');
});

t.test('issue 15.5: account backoff grows and counts every source together', async (t) => {
  const c = clock();
  const limiter = new LoginLimiter({ now: () => c.now });
  // Ten sources, one failure each: no source is throttled, the account is.
  for (let i = 0; i < 9; i++) limiter.failure('admin', `192.0.2.${i}`);
  t.equal(limiter.assess('admin', '203.0.113.1').verdict, 'check', 'nine failures: no lock yet');
  limiter.failure('admin', '192.0.2.9');
  t.same(limiter.assess('admin', '203.0.113.1'), { verdict: 'refuse', retryAfterSeconds: 30 }, 'the tenth locks the account for 30 s');
  c.tick(30_000);
  limiter.failure('admin', '192.0.2.10');
  t.same(limiter.assess('admin', '203.0.113.1'), { verdict: 'refuse', retryAfterSeconds: 60 }, 'then 60 s');
  c.tick(60_000);
  limiter.failure('admin', '192.0.2.11');
  t.equal((limiter.assess('admin', '203.0.113.1') as { retryAfterSeconds: number }).retryAfterSeconds, 120, 'then 120 s');
  for (let i = 0; i < 20; i++) limiter.failure('admin', `198.51.100.${i}`);
  t.equal((limiter.assess('admin', '203.0.113.1') as { retryAfterSeconds: number }).retryAfterSeconds, 900, 'capped at 15 minutes');
  t.equal(limiter.assess('operator', '203.0.113.1').verdict, 'check', 'another account is not locked');
  t.match(limiter.counters, { failures: 32, accountLockouts: 23, refusedAccountLocked: 4 });
});

t.test('issue 15.5: the right password from a throttled source logs in, after a delay; a wrong one gets Retry-After', async (t) => {
  const c = clock();
  const slept: number[] = [];
  const guard = new LoginGuard({ now: () => c.now, monotonic: () => c.now, sleep: async (ms) => void slept.push(ms) });
  const wrong = async () => false;
  const right = async () => true;
  for (let i = 0; i < 5; i++) t.match(await guard.attempt('admin', '192.0.2.50', wrong), { ok: false, status: 401 });
  t.same(slept, [], 'no delay before the source is throttled');
  t.match(await guard.attempt('admin', '192.0.2.50', wrong), { ok: false, status: 429, why: 'source-throttled', retryAfterSeconds: 60 });
  t.same(slept, [1000], 'a throttled source waits before its check');
  c.tick(1000);
  t.same(await guard.attempt('admin', '192.0.2.50', right), { ok: true }, 'the administrator behind the same address gets in');
  t.equal(guard.limiter.sources.state('192.0.2.50').throttled, false, 'and the source is cleared');
  t.match(guard.counters, { attempts: 7, throttledChecks: 2, failures: 6, successes: 1, sourceLockouts: 2 });
});

t.test('issue 15.5: right password after the account lock expires works; during it only a trusted clean source gets in', async (t) => {
  const c = clock();
  const guard = new LoginGuard({ now: () => c.now, monotonic: () => c.now, sleep: async () => {}, globalBurst: 100 });
  t.same(await guard.attempt('admin', '192.0.2.1', async () => true), { ok: true }, 'the administrator logs in from her desk once');
  for (let i = 0; i < 10; i++) await guard.attempt('admin', `198.51.100.${i}`, async () => false);
  let verified = 0;
  const right = async () => (verified++, true);
  t.match(await guard.attempt('admin', '203.0.113.5', right), { ok: false, status: 429, why: 'account-locked', retryAfterSeconds: 30 });
  t.equal(verified, 0, 'no hash is computed for a locked account');
  t.same(await guard.attempt('admin', '192.0.2.1', right), { ok: true }, 'her known, clean address is let through the account lock');
  for (let i = 0; i < 10; i++) await guard.attempt('admin', `198.51.100.${i}`, async () => false);
  for (let i = 0; i < 5; i++) await guard.attempt('admin', '192.0.2.1', async () => false).catch(() => undefined);
  t.match(await guard.attempt('admin', '192.0.2.1', right), { ok: false, why: 'account-locked' }, 'once that address is throttled itself, the account lock holds for it too');
  c.tick(16 * 60_000);
  t.same(await guard.attempt('admin', '203.0.113.5', right), { ok: true }, 'after the lock, the right password works from anywhere');
});

t.test('issue 15.4: a global login budget beside the per-source one; throttled sources have their own', async (t) => {
  const c = clock();
  const guard = new LoginGuard({ now: () => c.now, monotonic: () => c.now, sleep: async () => {}, globalRate: 2, globalBurst: 3, limiter: { accounts: { policy: { threshold: 1e6, baseMs: 1, maxMs: 1 } } } });
  for (let i = 0; i < 3; i++) t.match(await guard.attempt('admin', `192.0.2.${i}`, async () => false), { status: 401 });
  t.match(await guard.attempt('admin', '192.0.2.9', async () => true), { ok: false, status: 429, why: 'global-rate', retryAfterSeconds: 1 });
  c.tick(500);
  t.same(await guard.attempt('admin', '192.0.2.9', async () => true), { ok: true }, 'a token back after 1/rate');
  t.equal(guard.counters['refusedGlobalRate'], 1);
});

t.test('issue 15.4: checks are bounded: a few at once, a short line, busy beyond it', async (t) => {
  const guard = new LoginGuard({ sleep: async () => {}, concurrency: 1, queue: 1, globalBurst: 100, globalRate: 100 });
  const release: Array<() => void> = [];
  const slow = () => new Promise<boolean>((r) => release.push(() => r(false)));
  const first = guard.attempt('admin', '192.0.2.1', slow);
  const second = guard.attempt('admin', '192.0.2.2', slow);
  const third = await guard.attempt('admin', '192.0.2.3', slow);
  t.same(third, { ok: false, status: 503, why: 'busy', retryAfterSeconds: 1 }, 'the third is refused at once');
  t.equal(guard.gate.running, 1);
  t.equal(guard.gate.waiting, 1);
  release.shift()?.();
  t.match(await first, { status: 401 });
  await new Promise((r) => setImmediate(r));
  release.shift()?.();
  t.match(await second, { status: 401 }, 'the one in line ran after');
  t.match(guard.counters, { checks: 2, queued: 1, refusedBusy: 1 });
});

t.test('issue 15.5: attempts waiting in line when the account locks are refused without a hash', async (t) => {
  const c = clock();
  const guard = new LoginGuard({ now: () => c.now, monotonic: () => c.now, sleep: async () => {}, concurrency: 1, queue: 20, globalBurst: 100 });
  let hashed = 0;
  const wrong = async () => (hashed++, await new Promise((r) => setImmediate(r)), false);
  const outcomes = await Promise.all(Array.from({ length: 14 }, (_, i) => guard.attempt('admin', `192.0.2.${i}`, wrong)));
  t.equal(hashed, 10, 'ten checked: the tenth failure locked the account');
  t.same(outcomes.slice(10).map((o) => !o.ok && o.status !== 401 && o.why), ['account-locked', 'account-locked', 'account-locked', 'account-locked']);
});
