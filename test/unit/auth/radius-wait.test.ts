// A call's RADIUS requests told to the shell: waiting from the first request out to the last answer in,
// rejections and failures included.
import t from 'tap';
import { watchedRadius } from '../../../firmware/auth/radius-wait.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';

function deferredClient() {
  const pending: Array<{ resolve: (r: RadiusResult) => void; reject: (e: Error) => void }> = [];
  return {
    pending,
    client: { authenticate: () => new Promise<RadiusResult>((resolve, reject) => pending.push({ resolve, reject })) },
  };
}
const tick = () => new Promise((r) => setImmediate(r));

t.test('waiting from the first request to the last answer', async (t) => {
  const { pending, client } = deferredClient();
  const seen: boolean[] = [];
  const watched = watchedRadius(client, (w) => seen.push(w));
  const first = watched.authenticate([]);
  const second = watched.authenticate([]);
  t.same(seen, [true], 'one "waiting" for two requests in flight');
  pending[0]!.resolve({ outcome: 'timeout', tried: ['lab'] });
  await first;
  await tick();
  t.same(seen, [true], 'still waiting for the second');
  pending[1]!.reject(new Error('socket closed'));
  await t.rejects(second, /socket closed/, 'the failure reaches the verifier unchanged');
  await tick();
  t.same(seen, [true, false], 'a failed request ends the wait too');
  const third = watched.authenticate([]);
  pending[2]!.resolve({ outcome: 'timeout', tried: ['lab'] });
  await third;
  await tick();
  t.same(seen, [true, false, true, false], 'the next round trip (EAP) is another wait');
});

t.test('no watcher: the client itself', async (t) => {
  const { client } = deferredClient();
  t.equal(watchedRadius(client, undefined), client);
});
