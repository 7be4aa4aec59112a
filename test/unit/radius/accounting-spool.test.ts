// The accounting spool (issue 21): records no server acknowledged wait in order, new records queue
// behind them, they go out oldest first with Acct-Delay-Time once a server answers, the file
// (rewritten atomically) brings them back after a restart, a damaged file is an empty spool, and
// past the cap records are dropped and counted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AccountingSpool } from '../../../firmware/radius/accounting-spool.ts';
import { Attr, integerAttr, integerOf } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import type { RadiusAttribute } from '../../../firmware/radius/packet.ts';

/** A server that answers only while `up`; every attempt recorded with its delay. */
function server() {
  const s = {
    up: false,
    sent: [] as Array<{ n: number | undefined; delay: number }>,
    account: async (a: readonly RadiusAttribute[], delay = 0): Promise<RadiusResult> => {
      s.sent.push({ n: integerOf(a, Attr.AcctSessionTime), delay });
      return s.up
        ? { outcome: 'accounting-response', server: 's', packet: { code: 5, identifier: 0, authenticator: new Uint8Array(16), attributes: [] }, microsoft: { malformed: 0 } }
        : { outcome: 'timeout', tried: ['s'] };
    },
  };
  return s;
}
const record = (n: number) => [integerAttr(Attr.AcctSessionTime, n)];

t.test('kept in order through an outage and a restart, sent late with Acct-Delay-Time', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'radius-spool-sstp.json');
  let now = 1_000_000;
  const s = server();
  const spool = new AccountingSpool({ client: s, file, now: () => now, retryMs: 60_000 });
  t.equal(await spool.send(record(1)), false, 'no server: spooled');
  now += 5_000;
  t.equal(await spool.send(record(2)), false, 'queued behind the first');
  t.equal(s.sent.length, 1, 'the second was not sent ahead of the first');
  t.equal(spool.size, 2);
  t.equal(JSON.parse(readFileSync(file, 'utf8')).length, 2, 'on disk');
  spool.close();

  // A restart: the file brings the records back; the server is up again.
  now += 10_000;
  s.up = true;
  s.sent.length = 0;
  const again = new AccountingSpool({ client: s, file, now: () => now, retryMs: 60_000 });
  t.equal(again.size, 2, 'loaded from the file');
  await again.drain();
  t.same(s.sent, [{ n: 1, delay: 15 }, { n: 2, delay: 10 }], 'oldest first, each with how long it waited');
  t.equal(again.size, 0);
  t.equal(again.delivered, 2);
  t.same(JSON.parse(readFileSync(file, 'utf8')), [], 'the file emptied');
  t.equal(await again.send(record(3)), true, 'then straight through');
  again.close();
});

t.test('past the cap: dropped and counted; a damaged file is an empty spool', async (t) => {
  const s = server();
  const spool = new AccountingSpool({ client: s, maxRecords: 2, retryMs: 60_000 });
  for (const n of [1, 2, 3]) await spool.send(record(n));
  t.equal(spool.size, 2);
  t.equal(spool.dropped, 1, 'the third dropped');
  spool.close();
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'spool.json');
  writeFileSync(file, '{"not": "a list"');
  const damaged = new AccountingSpool({ client: s, file });
  t.equal(damaged.size, 0, 'started empty');
  damaged.close();
});
