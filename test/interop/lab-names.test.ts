// Regression: a link named like an `ip` keyword abbreviation ("n") must still work.
import t from 'tap';
import { isRoot } from '../lab/command.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

t.test('links named n, dev and up', { skip: labSkip(isRoot() ? false : 'needs root') }, async (t) => {
  const lab = Lab.create({
    hosts: { a: {}, b: {} },
    links: { n: { a: ['a', '10.7.0.1/24'], b: ['b', '10.7.0.2/24'] }, dev: { a: ['a', '10.7.1.1/24'], b: ['b', '10.7.1.2/24'] }, up: { a: ['a', '10.7.2.1/24'], b: ['b', '10.7.2.2/24'] } },
  });
  t.teardown(() => lab.teardown());
  for (const address of ['10.7.0.2', '10.7.1.2', '10.7.2.2']) {
    t.equal((await lab.exec('a', ['ping', '-c', '1', '-W', '1', address])).code, 0, `a reaches ${address}`);
  }
});
