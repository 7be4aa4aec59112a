// The data plane's plain C core: its own C tests (known answers, replay window, malformed packets)
// and a bounded fuzz run under AddressSanitizer and UndefinedBehaviorSanitizer.
import { spawnSync } from 'node:child_process';
import t from 'tap';

// Each make step may take its whole 300 s on a loaded machine (it compiles the C with sanitizers).
t.setTimeout(660_000);

const make = (target: string) => spawnSync('make', ['-s', '-C', 'drivers', target], { encoding: 'utf8', timeout: 300_000 });

t.test('C tests: every check of make -C drivers check', async (t) => {
  const r = make('check');
  t.equal(r.status, 0, r.stderr.slice(-2000));
  const lines = r.stdout.split('\n').filter((l) => /^(not )?ok \d+ - /.test(l));
  t.ok(lines.length >= 70, `${lines.length} C checks ran`);
  for (const line of lines) t.ok(line.startsWith('ok '), line.replace(/^(not )?ok \d+ - /, 'C: '));
});

t.test('fuzz smoke: random and mutated packets through every suite, sanitizers on', async (t) => {
  const r = make('fuzz-smoke');
  t.equal(r.status, 0, `${r.stdout.slice(-500)}${r.stderr.slice(-2000)}`);
  t.match(r.stdout, /fuzz-smoke: \d+ inputs through every suite's SAs \(with and without ESN\), no crash/);
  // Issue 22: PPTP calls with MPPE in C; genuine packets must get through, not only garbage.
  t.match(r.stdout, /fuzz_pptp: \d+ inputs, [1-9]\d* MPPE packets decrypted, \d+ late, \d+ malformed, no fault/);
  // Issue 23, kTLS: the record-boundary follower, non-data records and keylog lines on any bytes; genuine records counted.
  t.match(r.stdout, /fuzz_ktls: \d+ runs, [1-9]\d* parsed, [1-9]\d* records, no crash/);
});
