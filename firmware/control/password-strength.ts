/**
 * How guessable a password is, estimated by zxcvbn-ts against its common-password and diceware lists,
 * keyboard patterns, dates, repeats and sequences (issue 17: `password1234` passed the length rules).
 * The lists load on first use (~0.1 s); Levenshtein matching stays off, so a check is tens of ms.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';

/** zxcvbn's score 3: about 10^8 guesses, "safely unguessable" for a throttled online attack. */
export const MIN_SCORE = 3;
/** zxcvbn is superlinear in length; what lies past this only adds strength. */
const MAX_CHECKED = 64;

let factory: ZxcvbnFactory | undefined;

export interface Strength {
  readonly score: 0 | 1 | 2 | 3 | 4;
  /** Why it is weak, in plain words; undefined when the estimator has nothing to say. */
  readonly why: string | undefined;
}

/** zxcvbn's feedback keys (its English texts live in a package we do not need) in our words. */
const WHY: Readonly<Record<string, string>> = {
  common: 'it is on lists of the most common passwords',
  similarToCommon: 'it is a common password with small changes, which guessing tools try first',
  topTen: 'it is one of the ten most common passwords',
  topHundred: 'it is one of the hundred most common passwords',
  wordByItself: 'a single word is easy to guess',
  namesByThemselves: 'names on their own are easy to guess',
  commonNames: 'common names are easy to guess',
  userInputs: 'it is built from the user\'s or the gateway\'s own name',
  straightRow: 'it is a row of keys on the keyboard',
  keyPattern: 'it is a short keyboard pattern',
  simpleRepeat: 'it repeats a few characters',
  extendedRepeat: 'it repeats a pattern',
  sequences: 'it is a sequence like abc or 6543',
  recentYears: 'it contains a recent year',
  dates: 'it contains a date',
  pwned: 'it was found in password breaches',
};

export function passwordStrength(password: string, names: readonly string[]): Strength {
  factory ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs, useLevenshteinDistance: false });
  const result = factory.check(password.slice(0, MAX_CHECKED), [...names]);
  const warning = result.feedback.warning;
  return { score: result.score, why: warning ? (WHY[warning] ?? undefined) : undefined };
}
