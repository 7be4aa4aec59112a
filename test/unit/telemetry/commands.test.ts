import fc from 'fast-check';
import t from 'tap';
import { parseCommand, runCommand, type CommandHandlers } from '../../../firmware/telemetry/commands.ts';

t.test('parsing: commands, rejections with an id to answer, and malformed ones', async (t) => {
  t.same(parseCommand('{"id":"c1","command":"report-now","args":{"x":1}}'), { kind: 'command', command: { id: 'c1', command: 'report-now', args: { x: 1 } } });
  t.same(parseCommand(Buffer.from('{"id":7,"command":"disconnect-session","schema":1}')), { kind: 'command', command: { id: 7, command: 'disconnect-session', args: undefined } });
  t.match(parseCommand('{"id":"c2","command":"reboot"}'), { kind: 'rejected', id: 'c2', error: /unknown command "reboot"/ });
  t.match(parseCommand('{"id":"c3","command":"report-now","schema":2}'), { kind: 'rejected', id: 'c3', error: /unsupported schema 2/ });
  for (const bad of ['', 'not json {', '[]', '"x"', 'null', '{"command":"report-now"}', '{"id":"","command":"report-now"}', `{"id":"${'x'.repeat(200)}"}`, '{"id":{},"command":"report-now"}']) {
    t.equal(parseCommand(bad).kind, 'malformed', bad.slice(0, 40));
  }
  t.match(parseCommand(`{"id":"big","pad":"${'x'.repeat(70_000)}"}`), { kind: 'malformed', why: 'too large' });
});

t.test('running: one reply per command, errors answered', async (t) => {
  const seen: unknown[] = [];
  const handlers: CommandHandlers = {
    'report-now': async (args) => void seen.push(args),
    'disconnect-session': async () => {
      throw new Error('no such session');
    },
  };
  t.same(await runCommand(parseCommand('{"id":"a","command":"report-now","args":1}'), handlers), { schema: 1, id: 'a', ok: true });
  t.same(seen, [1]);
  t.same(await runCommand(parseCommand('{"id":"b","command":"disconnect-session"}'), handlers), { schema: 1, id: 'b', ok: false, error: 'no such session' });
  t.match(await runCommand(parseCommand('{"id":"c","command":"disconnect-session"}'), {}), { ok: false, error: /not available/ });
  t.match(await runCommand(parseCommand('{"id":"d","command":"reboot"}'), handlers), { id: 'd', ok: false, error: /unknown command/ });
  t.equal(await runCommand(parseCommand('junk'), handlers), undefined, 'malformed: no reply');
});

t.test('property: parsing never throws, whatever the broker hands over', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array()), (input) => {
      const parsed = parseCommand(input);
      return ['command', 'rejected', 'malformed'].includes(parsed.kind);
    }),
  );
  t.pass('held');
});
