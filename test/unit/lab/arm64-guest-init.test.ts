import { spawnSync } from 'node:child_process';
import t from 'tap';
import { GUEST, guestFiles, serviceLine } from '../../lab/arm64/guest-init.ts';

t.test('the arm64 guest runs the service line make firmware ships, on the LAN address', async (t) => {
  // The shipped line caps V8's young generation through NODE_OPTIONS (issue 23), as the init files do.
  t.equal(serviceLine(), `::respawn:/usr/bin/env NODE_OPTIONS=--max-semi-space-size=2 /usr/lib/postern/postern-launcher run --state /var/lib/postern --management ${GUEST.lanAddress}:${GUEST.managementPort}`);
  const inittab = guestFiles()['etc/inittab']?.data ?? '';
  t.match(inittab, /^::sysinit:\/etc\/rc\.boot$/m, 'the boot script first');
  t.match(inittab, /^::respawn:\/usr\/bin\/env NODE_OPTIONS=\S+ \/usr\/lib\/postern\/postern-launcher /m, 'the launcher respawned');
  t.match(inittab, /^::shutdown:\/etc\/rc\.shutdown$/m, 'the disk unmounted before a reboot');
});

t.test('the guest scripts are valid sh and name the NICs by MAC', async (t) => {
  const files = guestFiles();
  for (const name of ['etc/rc.boot', 'etc/rc.shutdown']) {
    const text = files[name]?.data ?? '';
    t.equal(files[name]?.mode, 0o755, `${name} is executable`);
    const r = spawnSync('sh', ['-n'], { input: text, encoding: 'utf8' });
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
  const boot = files['etc/rc.boot']?.data ?? '';
  t.match(boot, new RegExp(`${GUEST.wanMac}\\) ip link set dev "\\$n" name wanx`));
  t.match(boot, new RegExp(`${GUEST.lanMac}\\) ip link set dev "\\$n" name lanx`));
  t.match(boot, `ip addr add ${GUEST.wanAddress}/${GUEST.wanPrefix} dev eth0`, 'eth0 is the WAN, as board/generic-arm64.json says');
  t.match(boot, `ip addr add ${GUEST.lanAddress}/${GUEST.lanPrefix} dev eth1`);
  t.match(boot, /ip_forward/, 'the router forwards between the tunnel and the LAN');
});
