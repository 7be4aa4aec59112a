// The accounting spool (issue 21): records no server acknowledged wait in order, new records queue
// behind them, they go out oldest first with Acct-Delay-Time once a server answers, the journal
// (a record on disk before its first try, an ack after) brings them back after a restart or a
// crash mid-send, damaged lines are skipped, the older whole-file spool is taken over, and past the
// cap records are dropped and counted.
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AccountingSpool } from '../../../firmware/radius/accounting-spool.ts';
import { parseJournalLine, replayJournal } from '../../../firmware/radius/spool-journal.ts';
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
  const file = join(dir, 'radius-spool-sstp.jsonl');
  const onDisk = () => replayJournal(readFileSync(file, 'utf8')).records.length;
  let now = 1_000_000;
  const s = server();
  const spool = new AccountingSpool({ client: s, file, now: () => now, retryMs: 60_000 });
  t.equal(await spool.send(record(1)), false, 'no server: spooled');
  now += 5_000;
  t.equal(await spool.send(record(2)), false, 'queued behind the first');
  t.equal(s.sent.length, 1, 'the second was not sent ahead of the first');
  t.equal(spool.size, 2);
  t.equal(onDisk(), 2, 'on disk');
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
  t.equal(readFileSync(file, 'utf8'), '', 'the file emptied');
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
  const file = join(dir, 'spool.jsonl');
  writeFileSync(file, '{"not": "a list"\n{"at":5,"a":[[46,"AAAAAQ=="]]}\n{"at":6,"a":[[46,"AAAAAg=="]]}\n{"ack":1}\n{"at":7,"a":[[4');
  const damaged = new AccountingSpool({ client: s, file, retryMs: 60_000 });
  t.equal(damaged.size, 1, 'the record left after the ack kept; a bad line and a torn last line skipped');
  damaged.close();
});

t.test('a crash while the first try is in flight keeps the record; acks are appended, the journal compacted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'radius-spool-l2tp.jsonl');
  let answer: (() => void) | undefined;
  const hanging = { account: (_a: readonly RadiusAttribute[]) => new Promise<RadiusResult>((resolve) => { answer = () => resolve({ outcome: 'timeout', tried: ['s'] }); }) };
  const spool = new AccountingSpool({ client: hanging, file, retryMs: 60_000 });
  void spool.send(record(1));
  t.equal(replayJournal(readFileSync(file, 'utf8')).records.length, 1, 'on disk while the server is still being asked (a kill -9 now loses nothing)');
  answer?.();
  spool.close();

  const s = server();
  s.up = true;
  const live = new AccountingSpool({ client: s, file, retryMs: 60_000 });
  await live.drain();
  t.same(s.sent.map((x) => x.n), [1], 'sent after the "restart"');
  for (let n = 2; n < 400; n++) await live.send(record(n));
  t.equal(readFileSync(file, 'utf8'), '', 'emptied each time the queue is');
  s.up = false;
  for (let n = 400; n < 600; n++) await live.send(record(n));
  s.up = true;
  await live.drain();
  t.equal(live.size, 0);
  t.same(s.sent.slice(-200).map((x) => x.n), Array.from({ length: 200 }, (_, i) => 400 + i), 'in order after an outage');
  live.close();
});

t.test('the older whole-file spool is taken over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'radius-spool-sstp.json'), JSON.stringify([{ at: 1, attributes: [[46, 'AAAACQ==']] }]));
  const s = server();
  const spool = new AccountingSpool({ client: s, file: join(dir, 'radius-spool-sstp.jsonl'), retryMs: 60_000 });
  t.equal(spool.size, 1);
  t.notOk(existsSync(join(dir, 'radius-spool-sstp.json')), 'the old file removed once moved');
  s.up = true;
  await spool.drain();
  t.same(s.sent.map((x) => x.n), [9]);
  spool.close();
});

t.test('journal lines: any text parses to a record, an ack or nothing, never a throw', async () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (line) => {
    const entry = parseJournalLine(line);
    return entry === undefined || entry === 'ack' || Array.isArray(entry.attributes);
  }));
  fc.assert(fc.property(fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 30 }) }), { maxLength: 8 }), fc.integer({ min: 0, max: 2 ** 45 }), (attributes, at) => {
    const line = JSON.stringify({ at, a: attributes.map((a) => [a.type, Buffer.from(a.value).toString('base64')]) });
    const entry = parseJournalLine(line);
    return entry !== undefined && entry !== 'ack' && entry.at === at && entry.attributes.every((a, i) => Buffer.from(a.value).equals(Buffer.from(attributes[i]!.value)));
  }));
});
