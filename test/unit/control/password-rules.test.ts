// Issue 17: administrator and VPN user passwords are checked against common and breached-password
// lists (zxcvbn-ts) besides the length rules; `password1234` was accepted for the admin.
import t from 'tap';
import { passwordProblems } from '../../../firmware/control/password-rules.ts';

const rules = (password: string, names: string[] = ['admin', 'postern']) => passwordProblems(password, { names }).map((p) => p.rule);

t.test('issue 17: password1234 is refused for the admin as too easy to guess', async (t) => {
  const problems = passwordProblems('password1234', { names: ['admin', 'postern'] });
  t.same(problems.map((p) => p.rule), ['guessable'], 'long enough and mixed, but on every list');
  t.match(problems[0]?.message, /too easy to guess: it is a common password with small changes/);
});

t.test('issue 17: common passwords with the usual changes, keyboard walks and years are refused', async (t) => {
  for (const weak of ['iloveyou2020', 'qwertyuiop12', 'zaq12wsxcde3', 'Passw0rd!2345', 'aaaaaaaaaaaa1']) t.same(rules(weak), ['guessable'], weak);
});

t.test('issue 17: a user password built from the user\'s own name is refused', async (t) => {
  t.same(rules('alice-alice-1', ['alice', 'postern']), ['contains-name']);
  t.same(rules('Ecila-2024!x', ['alice', 'postern']).filter((r) => r === 'contains-name'), [], 'only the name itself is a name rule');
});

t.test('issue 17: the length and variety rules still come first, one message per mistake', async (t) => {
  t.same(rules('short1'), ['length']);
  t.same(rules('abcdefghijklmnop'), ['variety']);
  t.same(rules('password123'), ['length', 'common']);
});

t.test('issue 17: passphrases and random passwords pass', async (t) => {
  for (const strong of ['Field-Tech-Pass-77', 'Correct-Horse-Battery-7', 'Copper-Wire-Falcon-55', 'k7#Qm2!vRz9w', 'Bundle-Pass-1234']) t.same(rules(strong), [], strong);
});

t.test('issue 17: a very long password is estimated quickly (only its start is checked)', async (t) => {
  const start = performance.now();
  t.same(rules(`Aa1-${'x7Q!'.repeat(40)}`).filter((r) => r !== 'guessable'), []);
  t.ok(performance.now() - start < 5000, 'well under the request budget');
});
