import fc from 'fast-check';
import t from 'tap';
import { DEFAULT_BUFFER_CAPACITY, OfflineBuffer } from '../../../firmware/telemetry/offline-buffer.ts';

t.test('keeps order; when full, drops the oldest and counts it', async (t) => {
  const b = new OfflineBuffer<number>(3);
  t.ok(b.push(1) && b.push(2) && b.push(3), 'room for three');
  t.notOk(b.push(4), 'the fourth pushes one out');
  t.equal(b.size, 3);
  t.equal(b.dropped, 1);
  t.same(b.drain(), [2, 3, 4]);
  t.equal(b.size, 0);
  t.same(b.drain(), [], 'empty after a drain');
  b.push(5);
  t.same(b.drain(), [5], 'usable again, and the ring wraps');
  t.equal(b.dropped, 1, 'the count survives a drain');
});

t.test('default capacity 1000; a capacity must be a positive integer', async (t) => {
  t.equal(new OfflineBuffer().capacity, DEFAULT_BUFFER_CAPACITY);
  t.equal(DEFAULT_BUFFER_CAPACITY, 1000);
  for (const bad of [0, -1, 1.5, Number.NaN]) t.throws(() => new OfflineBuffer(bad), RangeError, String(bad));
});

t.test('property: a buffer holds the newest min(n, capacity) items in order and counts the rest', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.array(fc.integer(), { maxLength: 80 }), { maxLength: 5 }), (capacity, rounds) => {
      const b = new OfflineBuffer<number>(capacity);
      let dropped = 0;
      for (const items of rounds) {
        for (const item of items) b.push(item);
        if (b.size > capacity) return false;
        const expected = items.slice(-capacity);
        dropped += items.length - expected.length;
        const got = b.drain();
        if (got.length !== expected.length || got.some((v, i) => v !== expected[i])) return false;
        if (b.dropped !== dropped) return false;
      }
      return true;
    }),
  );
  t.pass('held for generated pushes and drains');
});

t.test('property: pushes and drains interleaved keep FIFO order of what survives', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.oneof(fc.constant<'drain'>('drain'), fc.nat()), { maxLength: 100 }), (capacity, ops) => {
      const b = new OfflineBuffer<number>(capacity);
      let model: number[] = [];
      for (const op of ops) {
        if (op === 'drain') {
          const got = b.drain();
          if (JSON.stringify(got) !== JSON.stringify(model)) return false;
          model = [];
        } else {
          model.push(op);
          if (model.length > capacity) model.shift();
          b.push(op);
        }
        if (b.size !== model.length) return false;
      }
      return true;
    }),
  );
  t.pass('held against an array model');
});
