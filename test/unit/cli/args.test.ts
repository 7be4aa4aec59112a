import t from 'tap';
import { parseArgs, stringFlag } from '../../../firmware/cli/args.ts';

t.test('words, flags with values, = form and switches', async (t) => {
  const a = parseArgs(['config', 'show', '--state', '/tmp/s', '--revision=3', '--json'], new Set(['json']));
  t.same(a.words, ['config', 'show']);
  t.equal(stringFlag(a, 'state'), '/tmp/s');
  t.equal(stringFlag(a, 'revision'), '3');
  t.equal(a.flags.get('json'), true);
});

t.test('a flag without its value is a usage error', async (t) => {
  t.throws(() => parseArgs(['run', '--state'], new Set()), { code: 'POSTERN_ERR_USAGE' });
  t.throws(() => parseArgs(['run', '--state', '--json'], new Set(['json'])), { code: 'POSTERN_ERR_USAGE' });
});

t.test('a switch used as a value flag is refused by stringFlag', async (t) => {
  const a = parseArgs(['--json'], new Set(['json']));
  t.throws(() => stringFlag(a, 'json'), { code: 'POSTERN_ERR_USAGE' });
});
