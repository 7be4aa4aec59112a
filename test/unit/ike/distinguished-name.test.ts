// DN IDs compared as names (RFC 5280 §7.1): strongSwan's "CN=laptop-1" (a PrintableString) names the
// certificate whose subject has a UTF8String; other names, orders and malformed bytes do not match.
import fc from 'fast-check';
import t from 'tap';
import { sameName } from '../../../firmware/ike/crypto/distinguished-name.ts';

const CN = [0x06, 0x03, 0x55, 0x04, 0x03];
const O = [0x06, 0x03, 0x55, 0x04, 0x0a];
const atv = (type: number[], tag: number, text: string) => { const v = [...Buffer.from(text)]; const inner = [...type, tag, v.length, ...v]; return [0x31, inner.length + 2, 0x30, inner.length, ...inner]; };
const name = (...rdns: number[][]) => { const body = rdns.flat(); return Uint8Array.from([0x30, body.length, ...body]); };

t.test('PrintableString and UTF8String of the same text are the same name; case and spaces folded', async (t) => {
  t.ok(sameName(name(atv(CN, 0x0c, 'laptop-1')), name(atv(CN, 0x13, 'laptop-1'))));
  t.ok(sameName(name(atv(O, 0x0c, 'Example  Corp'), atv(CN, 0x0c, 'Laptop-1')), name(atv(O, 0x13, 'example corp'), atv(CN, 0x13, 'laptop-1'))));
  t.notOk(sameName(name(atv(CN, 0x0c, 'laptop-1')), name(atv(CN, 0x13, 'laptop-2'))), 'another value');
  t.notOk(sameName(name(atv(CN, 0x0c, 'a'), atv(O, 0x0c, 'b')), name(atv(O, 0x0c, 'b'), atv(CN, 0x0c, 'a'))), 'another order');
  t.notOk(sameName(name(atv(CN, 0x0c, 'a')), name(atv(O, 0x0c, 'a'))), 'another attribute');
  t.notOk(sameName(name(atv(CN, 0x0c, 'a')), Uint8Array.from([0x30, 0x05, 0x31])), 'malformed');
});

t.test('random bytes never throw', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 80 }), (a, b) => typeof sameName(a, b) === 'boolean'), { numRuns: 2000 });
  t.pass();
});
