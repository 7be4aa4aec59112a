import fc from 'fast-check';
import t from 'tap';
import {
  configVersionMessage, encodeMessage, eventMessage, EVENT_TYPES, replyMessage, SCHEMA_VERSION, stateMessage, topicsFor, validTopicParts,
} from '../../../firmware/telemetry/schema.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const NOW = Date.UTC(2025, 0, 2, 3, 4, 5, 6);

t.test('topics under <prefix>/<deviceId>', async (t) => {
  t.same(topicsFor('postern', 'branch-7'), {
    state: 'postern/branch-7/state',
    status: 'postern/branch-7/status',
    events: 'postern/branch-7/events',
    configVersion: 'postern/branch-7/config/version',
    cmd: 'postern/branch-7/cmd',
    reply: 'postern/branch-7/reply',
  });
  t.ok(validTopicParts('acme/branches', 'gw1'), 'a prefix of several levels');
  for (const [prefix, id] of [['postern', 'a+b'], ['postern', 'a#'], ['post/', 'gw'], ['', 'gw'], ['postern', ''], ['postern', 'a/b'], ['p\u0000', 'gw']]) {
    t.notOk(validTopicParts(prefix!, id!), `${JSON.stringify(prefix)} ${JSON.stringify(id)}`);
  }
});

t.test('every message carries schema 1 and an ISO 8601 UTC time', async (t) => {
  t.equal(SCHEMA_VERSION, 1);
  t.same(stateMessage('online', NOW, '1.2.3'), { schema: 1, state: 'online', ts: '2025-01-02T03:04:05.006Z', version: '1.2.3' });
  t.same(eventMessage(4, 'rekey', { sa: 'x' }, NOW), { schema: 1, ts: '2025-01-02T03:04:05.006Z', seq: 4, type: 'rekey', details: { sa: 'x' } });
  t.same(configVersionMessage(12, NOW), { schema: 1, revision: 12, ts: '2025-01-02T03:04:05.006Z' });
  t.same(replyMessage('a'), { schema: 1, id: 'a', ok: true });
  t.same(replyMessage(3, 'nope'), { schema: 1, id: 3, ok: false, error: 'nope' });
  t.ok(EVENT_TYPES.includes('session-up') && EVENT_TYPES.includes('config-change'));
});

t.test('encoding: bigints as strings, secrets redacted', async (t) => {
  const text = encodeMessage(eventMessage(1, 'session-up', { spi: 0xdeadbeefcafen, psk: new Secret('hunter2') }, NOW));
  t.notMatch(text, /hunter2/);
  t.match(JSON.parse(text), { details: { spi: '244837814094590', psk: '<redacted>' } });
});

t.test('property: an event survives encoding and decoding', async (t) => {
  fc.assert(
    fc.property(fc.nat(), fc.constantFrom(...EVENT_TYPES), fc.dictionary(fc.string(), fc.jsonValue()), fc.integer({ min: 0, max: 4_102_444_800_000 }), (seq, type, details, now) => {
      const decoded = JSON.parse(encodeMessage(eventMessage(seq, type, details, now))) as Record<string, unknown>;
      return decoded['schema'] === 1 && decoded['seq'] === seq && decoded['type'] === type && Date.parse(String(decoded['ts'])) === now &&
        JSON.stringify(decoded['details']) === JSON.stringify(JSON.parse(JSON.stringify(details)));
    }),
  );
  t.pass('held');
});
