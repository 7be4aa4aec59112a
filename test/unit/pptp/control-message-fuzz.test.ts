// PPTP control codec and stream reader under fast-check: generated messages of every type round
// trip; random and mutated bytes never throw; any split of a valid stream yields the same messages.
import fc from 'fast-check';
import t from 'tap';
import { decodePptpMessage, encodePptpMessage, MESSAGE_LAYOUTS, type PptpControlMessage, type PptpMessageName } from '../../../firmware/pptp/control-message.ts';
import { PptpControlStream } from '../../../firmware/pptp/control-stream.ts';

const valueArb = (kind: string): fc.Arbitrary<unknown> => {
  switch (kind) {
    case 'u8': return fc.integer({ min: 0, max: 0xff });
    case 'u16': return fc.integer({ min: 0, max: 0xffff });
    case 'u32': return fc.integer({ min: 0, max: 0xffffffff });
    case 'str64': return fc.string({ maxLength: 63 }).map((s) => s.replace(/[^\x01-\x7f]/g, 'x'));
    default: return fc.uint8Array({ minLength: 128, maxLength: 128 });
  }
};
const messageArb: fc.Arbitrary<PptpControlMessage> = fc.oneof(...(Object.keys(MESSAGE_LAYOUTS) as PptpMessageName[]).map((name) =>
  fc.record(Object.fromEntries([['type', fc.constant(name)], ...MESSAGE_LAYOUTS[name].fields.filter(([, k]) => !k.startsWith('r')).map(([f, k]) => [f, valueArb(k)])])) as fc.Arbitrary<PptpControlMessage>));

t.test('encode then decode gives the message back', async () => {
  fc.assert(fc.property(messageArb, (m) => {
    const d = decodePptpMessage(encodePptpMessage(m));
    return d.ok && JSON.stringify(d.value, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)) === JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v));
  }), { numRuns: 2000 });
});

t.test('random and mutated bytes never throw', async () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => { decodePptpMessage(b); new PptpControlStream().push(b); }), { numRuns: 3000 });
  fc.assert(fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (m, edits) => {
    const b = encodePptpMessage(m);
    for (const [at, v] of edits) b[at % b.length] = v;
    const d = decodePptpMessage(b);
    if (d.ok) decodePptpMessage(encodePptpMessage(d.value));
    new PptpControlStream().push(b);
  }), { numRuns: 3000 });
});

t.test('any split of a stream gives the same messages', async () => {
  fc.assert(fc.property(fc.array(messageArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (ms, cuts) => {
    const whole = Buffer.concat(ms.map(encodePptpMessage));
    const points = [...new Set(cuts.map((c) => c % whole.length))].sort((a, b) => a - b);
    const s = new PptpControlStream();
    const got: string[] = [];
    let from = 0;
    for (const p of [...points, whole.length]) { for (const i of s.push(whole.subarray(from, p))) got.push(i.ok ? i.message.type : 'error'); from = p; }
    return got.join() === ms.map((m) => m.type).join();
  }), { numRuns: 500 });
});
