// The Users page's pool arithmetic (issue 17): which pool holds an address, and the fixed address it suggests.
import t from 'tap';
import { freeFromTop, inRange, usableRange } from '../../../webui/src/ipv4.ts';

t.test('usable addresses: the prefix without network and broadcast, all of a /31 or /32', async (t) => {
  t.same(usableRange('10.10.0.0/24'), { first: 0x0a0a0001, last: 0x0a0a00fe });
  t.same(usableRange('10.10.0.7/24'), usableRange('10.10.0.0/24'), 'host bits ignored');
  t.same(usableRange('192.0.2.4/31'), { first: 0xc0000204, last: 0xc0000205 });
  t.same(usableRange('192.0.2.4/32'), { first: 0xc0000204, last: 0xc0000204 });
  for (const bad of ['10.10.0.0', '10.10.0.0/33', '300.1.1.1/24', '10.10.0/24', '010.1.1.1/24', 'fd00::/64']) t.equal(usableRange(bad), undefined, bad);
  t.ok(inRange('10.10.0.0/24', '10.10.0.254'));
  t.notOk(inRange('10.10.0.0/24', '10.10.0.255'), 'broadcast');
  t.notOk(inRange('10.10.0.0/24', '10.10.0.0'), 'network');
  t.notOk(inRange('10.10.0.0/24', '10.10.1.1'));
});

t.test('the suggestion: the highest address no other user has fixed', async (t) => {
  t.equal(freeFromTop('10.10.0.0/24', []), '10.10.0.254');
  t.equal(freeFromTop('10.10.0.0/24', ['10.10.0.254', '10.10.0.253']), '10.10.0.252');
  t.equal(freeFromTop('192.0.2.4/32', ['192.0.2.4']), undefined, 'a full pool suggests nothing');
  t.equal(freeFromTop('nonsense', []), undefined);
  t.equal(freeFromTop('10.0.0.0/8', []), '10.255.255.254', 'a large pool: found at once from the top');
});
