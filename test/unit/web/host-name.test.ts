// How the Host allow-list reads a Host header (issue 15.8).
import t from 'tap';
import { hostName } from '../../../firmware/web/host-allow-list.ts';

t.test('Host headers are read strictly: port dropped, case and trailing dot ignored, junk refused', async (t) => {
  t.equal(hostName('Gw.Example.:8443'), 'gw.example');
  t.equal(hostName('[::1]:80'), hostName('[0000::0001]'));
  t.equal(hostName('127.0.0.1:8080'), hostName('127.0.0.1'));
  for (const junk of ['', ':80', '[::1', '::1', 'a b', 'evil.example:port', '[evil.example]', 'a@b', 'host:80:80']) t.equal(hostName(junk), undefined, `'${junk}'`);
});
