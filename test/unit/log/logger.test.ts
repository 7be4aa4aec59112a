import t from 'tap';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { inspect } from 'node:util';

const fixedClock = () => new Date('2026-01-01T00:00:00Z');

t.test('records carry level, subsystem and fields', async (t) => {
  const { sink, records } = memorySink();
  const log = createLogger({ sink, clock: fixedClock }).child('ike');
  log.info('sa established', { peer: '192.0.2.1', spi: 5n });
  t.same(records, [{ peer: '192.0.2.1', spi: '5', ts: '2026-01-01T00:00:00.000Z', level: 'info', sub: 'ike', msg: 'sa established' }]);
});

t.test('levels below the threshold are dropped', async (t) => {
  const { sink, records } = memorySink();
  const log = createLogger({ sink, level: 'warn' });
  log.debug('a');
  log.info('b');
  log.warn('c');
  log.error('d');
  t.same(records.map((r) => r.msg), ['c', 'd']);
});

t.test('secrets never reach a record, wrapped or by field name', async (t) => {
  const { sink, records } = memorySink();
  const log = createLogger({ sink });
  log.info('user added', { user: 'alice', password: 'hunter2', nested: { psk: 'abc', auth: { key: new Secret('k') } }, wrapped: new Secret('s3') });
  const text = JSON.stringify(records);
  for (const leak of ['hunter2', 'abc', '"k"', 's3']) t.notOk(text.includes(leak), `no ${leak}`);
  t.equal(records[0]?.['user'], 'alice');
});

t.test('a Secret prints as <redacted> every way', async (t) => {
  const s = new Secret('top');
  t.equal(String(s), '<redacted>');
  t.equal(`${s}`, '<redacted>');
  t.equal(JSON.stringify({ s }), '{"s":"<redacted>"}');
  t.equal(inspect(s), '<redacted>');
  t.equal(s.reveal(), 'top');
});

t.test('cycles and buffers do not break a record', async (t) => {
  const { sink, records } = memorySink();
  const a: Record<string, unknown> = { name: 'a' };
  a['self'] = a;
  createLogger({ sink }).info('x', { a, buf: Buffer.alloc(4) });
  t.equal(records[0]?.['buf'], '<4 bytes>');
  t.same((records[0]?.['a'] as Record<string, unknown>)['self'], '<…>');
});
