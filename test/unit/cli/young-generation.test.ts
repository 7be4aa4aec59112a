import { spawnSync } from 'node:child_process';
import { getHeapSpaceStatistics } from 'node:v8';
import t from 'tap';
import { keepYoungGenerationSmall } from '../../../firmware/cli/young-generation.ts';

const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

/** Objects that live a while (a call's state) among garbage: what makes V8 grow its young generation. */
const CHURN = `const keep = []; for (let i = 0; i < 600000; i++) { keep.push({ a: i, b: [i], c: 'x' + i }); if (keep.length > 50000) keep.splice(0, 25000); }`;

t.test('the same churn grows a plain process\'s young generation (the control: this test can fail)', async (t) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { getHeapSpaceStatistics } from 'node:v8'; const before = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size; ${CHURN}; console.log(before, getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`], { encoding: 'utf8', timeout: 60_000 });
  const [before, after] = r.stdout.trim().split(' ').map(Number);
  t.ok(after! > before! * 2, `new space ${before} -> ${after} bytes`);
});

t.test('after keepYoungGenerationSmall the young generation keeps its size through the churn', async (t) => {
  keepYoungGenerationSmall();
  const before = newSpace();
  new Function(CHURN)();
  t.equal(newSpace(), before, `new space stays at ${before} bytes (what loading the test harness grew it to)`);
});
