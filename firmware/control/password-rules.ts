/**
 * Password rules for the admin and the VPN users: long enough, not one kind of character, not the
 * name or the gateway's, not a well-known password, and not easily guessed by the estimator's
 * lists and patterns (password-strength.ts, issue 17). Each broken rule is reported, with a stable code.
 */
import { MIN_SCORE, passwordStrength } from './password-strength.ts';

export interface PasswordProblem {
  readonly rule: 'length' | 'variety' | 'contains-name' | 'common' | 'guessable' | 'control-characters';
  readonly message: string;
}

/** The passwords every guessing list starts with (a short list: the length rule does the rest). */
const COMMON = new Set(['password', 'password1', 'password123', '123456789012', 'qwertyuiopas', 'administrator', 'letmein12345', 'welcome12345', 'changeme1234', 'passw0rd1234', 'iloveyou1234', 'admin1234567', 'postern12345']);

export function passwordProblems(password: string, context: { readonly names: readonly string[] } = { names: [] }): PasswordProblem[] {
  const out: PasswordProblem[] = [];
  if ([...password].length < 12) out.push({ rule: 'length', message: 'at least 12 characters' });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) out.push({ rule: 'control-characters', message: 'no control characters' });
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((c) => c.test(password)).length;
  if (classes < 2) out.push({ rule: 'variety', message: 'mix at least two of: lower case, upper case, digits, symbols' });
  const lower = password.toLowerCase();
  for (const name of context.names) {
    if (name.length >= 3 && lower.includes(name.toLowerCase())) out.push({ rule: 'contains-name', message: `must not contain '${name}'` });
  }
  if (COMMON.has(lower)) out.push({ rule: 'common', message: 'a well-known password' });
  // Only a password the simple rules let through is estimated: one message per mistake is enough.
  if (out.length === 0) {
    const strength = passwordStrength(password, context.names);
    if (strength.score < MIN_SCORE) out.push({ rule: 'guessable', message: `too easy to guess${strength.why ? `: ${strength.why}` : ''} (a few unrelated words make a strong password)` });
  }
  return out;
}
