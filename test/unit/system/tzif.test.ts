// The POSIX TZ string from a TZif file's footer (RFC 8536), on this machine's real zoneinfo files.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { posixTzOf } from '../../../firmware/system/tzif.ts';

const zone = (name: string) => readFileSync(`/usr/share/zoneinfo/${name}`);

t.test('real zones', async (t) => {
  t.equal(posixTzOf(zone('Europe/Berlin')), 'CET-1CEST,M3.5.0,M10.5.0/3');
  t.equal(posixTzOf(zone('UTC')), 'UTC0');
  t.match(posixTzOf(zone('America/New_York')), /^EST5EDT,M3\.2\.0(\/2)?,M11\.1\.0(\/2)?$/);
  t.equal(posixTzOf(zone('Asia/Tokyo')), 'JST-9');
});

t.test('not TZif, version 1, cut short: plain-words errors', async (t) => {
  const berlin = zone('Europe/Berlin');
  t.throws(() => posixTzOf(Buffer.from('hello world')), /truncated header/);
  t.throws(() => posixTzOf(Buffer.alloc(60)), /no TZif magic/);
  const v1 = Buffer.from(berlin);
  v1[4] = 0;
  t.throws(() => posixTzOf(v1), /version 1/);
  t.throws(() => posixTzOf(berlin.subarray(0, berlin.length - 1)), /not terminated/);
  t.throws(() => posixTzOf(berlin.subarray(0, berlin.length - 30)), /without its footer|not terminated/);
});

t.test('any bytes: a string or an Error, never another failure', async () => {
  const berlin = zone('Europe/Berlin');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(berlin.length), (noise, cut) => {
      for (const input of [noise, Buffer.concat([berlin.subarray(0, cut), noise])]) {
        try {
          const tz = posixTzOf(input);
          if (!/^[\x21-\x7e]+$/.test(tz)) throw new Error(`odd TZ ${tz}`);
        } catch (error) {
          if (!(error instanceof Error) || error instanceof RangeError || error instanceof TypeError) throw error;
        }
      }
    }),
    { numRuns: 300 },
  );
});
