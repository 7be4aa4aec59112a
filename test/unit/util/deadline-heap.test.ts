// The engines' timer heap (issue 23): whatever the order of pushes and pops, each pop takes the
// earliest deadline left, as sorting them would.
import fc from 'fast-check';
import t from 'tap';
import { DeadlineHeap } from '../../../firmware/util/deadline-heap.ts';

t.test('pops come out in deadline order, interleaved with pushes', async (t) => {
  let runs = 0;
  fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constant(null)), { maxLength: 300 }), (steps) => {
    runs++;
    const heap = new DeadlineHeap<string>();
    const model: Array<[number, string]> = [];
    steps.forEach((step, i) => {
      if (step !== null) {
        heap.push(step, `item${i}`);
        model.push([step, `item${i}`]);
        return;
      }
      const at = heap.peekAt();
      const item = heap.peekItem();
      heap.pop();
      const earliest = model.length ? Math.min(...model.map(([a]) => a)) : undefined;
      if (at !== earliest) throw new Error(`popped ${at}, expected ${earliest}`);
      if (at === undefined) return;
      // Equal deadlines may come out in either order: the item must be one pushed at that deadline.
      const found = model.findIndex(([a, x]) => a === at && x === item);
      if (found < 0) throw new Error(`item ${item} was not pushed at ${at}`);
      model.splice(found, 1);
    });
    if (heap.size !== model.length) throw new Error(`size ${heap.size}, expected ${model.length}`);
  }), { numRuns: 300 });
  t.equal(runs, 300);
});

t.test('an empty heap has no deadline and pop is harmless', async (t) => {
  const heap = new DeadlineHeap<number>();
  t.equal(heap.peekAt(), undefined);
  heap.pop();
  t.equal(heap.size, 0);
  heap.push(5, 1);
  heap.push(3, 2);
  t.equal(heap.peekItem(), 2);
  heap.pop();
  t.equal(heap.peekItem(), 1);
});
