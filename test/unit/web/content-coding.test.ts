// Accept-Encoding (RFC 9110 §12.5.3): which form of a static file the server answers with.
import fc from 'fast-check';
import t from 'tap';
import { CODINGS, negotiateCoding, parseAcceptEncoding, type Coding } from '../../../firmware/web/content-coding.ts';

const ALL: Coding[] = ['br', 'gzip', 'identity'];

t.test('what browsers and tools send', async (t) => {
  t.equal(negotiateCoding('gzip, deflate, br, zstd', ALL), 'br', 'Chromium over HTTPS');
  t.equal(negotiateCoding('gzip, deflate', ALL), 'gzip', 'Chromium over plain HTTP (brotli only over TLS)');
  t.equal(negotiateCoding('gzip, deflate, br', ['gzip', 'identity']), 'gzip', 'no brotli form held');
  t.equal(negotiateCoding(undefined, ALL), 'identity', 'no header: curl without --compressed');
  t.equal(negotiateCoding('', ALL), 'identity', 'an empty header wants no coding');
  t.equal(negotiateCoding('identity', ALL), 'identity');
  t.equal(negotiateCoding('x-gzip', ALL), 'gzip', 'x-gzip is gzip');
});

t.test('weights: the highest acceptable wins, ties go to the smallest form, q=0 refuses', async (t) => {
  t.equal(negotiateCoding('br;q=0.5, gzip;q=0.8', ALL), 'gzip');
  t.equal(negotiateCoding('br;q=0, gzip', ALL), 'gzip');
  t.equal(negotiateCoding('GZIP;Q=1.0, BR;Q=1', ALL), 'br', 'case-insensitive; equal weights: brotli, the smaller');
  t.equal(negotiateCoding('*', ALL), 'br', '* accepts every coding');
  t.equal(negotiateCoding('*;q=0.5, gzip;q=0', ALL), 'br', 'a named q=0 beats the star');
  t.equal(negotiateCoding('br;q=0, gzip;q=0', ALL), 'identity', 'identity stays acceptable unless refused');
  t.equal(negotiateCoding('identity;q=0, *;q=0', ALL), 'identity', 'nothing acceptable: the plain form anyway, not a 406');
  t.equal(negotiateCoding('identity;q=0, gzip;q=0.1', ALL), 'gzip');
  t.equal(negotiateCoding('gzip;q=2, br;q=abc, identity', ALL), 'identity', 'malformed weights skip their entry');
});

t.test('parsing any header never throws and the answer is always a form the server holds', async (t) => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.subarray(['br', 'gzip'] as Coding[]), (header, held) => {
    parseAcceptEncoding(header);
    const c = negotiateCoding(header, [...held, 'identity']);
    return CODINGS.includes(c) && (c === 'identity' || held.includes(c));
  }));
  // A coding refused by name is never chosen.
  fc.assert(fc.property(fc.shuffledSubarray(['br', 'gzip', 'deflate', '*'], { minLength: 1 }), fc.constantFrom<Coding>('br', 'gzip'), (others, refused) => {
    const header = [...others.filter((o) => o !== refused).map((o) => `${o};q=0.${String(others.indexOf(o) + 1)}`), `${refused};q=0`].join(', ');
    return negotiateCoding(header, ALL) !== refused;
  }));
  t.equal(parseAcceptEncoding(Array.from({ length: 1000 }, (_, i) => `c${i}`).join(',')).size, 64, 'at most 64 entries read');
});
