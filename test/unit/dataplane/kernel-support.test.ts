import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { probeKernelEsp } from '../../../firmware/dataplane/kernel-support.ts';
import { chooseDataPlane } from '../../../firmware/dataplane/select.ts';
import { tempDir } from '../../helpers/tmp.ts';

function fakeKernel(t: Parameters<typeof tempDir>[0], files: Record<string, string>) {
  const root = tempDir(t);
  mkdirSync(join(root, 'mods'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
  return { xfrmStat: join(root, 'xfrm_stat'), modules: join(root, 'modules'), moduleDir: join(root, 'mods') };
}

t.test('no XFRM at all', async (t) => {
  t.same(probeKernelEsp(fakeKernel(t, {})), { xfrm: false, esp: false, why: 'no XFRM in this kernel' });
});

t.test('XFRM without esp4 (this lab host): userspace back end', async (t) => {
  const r = probeKernelEsp(fakeKernel(t, { xfrm_stat: 'XfrmInError 0\n', modules: 'tun 61440 0 - Live 0x0\n' }));
  t.same([r.xfrm, r.esp], [true, false]);
});

t.test('esp4 loaded, built in, or loadable', async (t) => {
  t.equal(probeKernelEsp(fakeKernel(t, { xfrm_stat: '', modules: 'esp4 28672 2 - Live 0x0\n' })).why, 'esp4 loaded');
  t.equal(probeKernelEsp(fakeKernel(t, { xfrm_stat: '', 'mods/modules.builtin': 'kernel/net/ipv4/esp4.ko\n' })).why, 'esp4 built in');
  t.equal(probeKernelEsp(fakeKernel(t, { xfrm_stat: '', 'mods/modules.dep': 'kernel/net/ipv4/esp4.ko.xz: kernel/net/xfrm/xfrm_algo.ko.xz\n' })).why, 'esp4 loadable');
});

t.test('this machine: XFRM present, no kernel ESP', async (t) => {
  const r = probeKernelEsp({ xfrmStat: '/proc/net/xfrm_stat', modules: '/proc/modules', moduleDir: '/lib/modules/none' });
  t.equal(r.esp, false, r.why);
});

t.test('the back end follows the probe, and can be forced to the drivers', async (t) => {
  const withEsp = fakeKernel(t, { xfrm_stat: '', modules: 'esp4 28672 2 - Live 0x0\n' });
  const withoutEsp = fakeKernel(t, { xfrm_stat: 'XfrmInError 0\n', modules: '' });
  t.same(chooseDataPlane(withEsp, undefined), { backEnd: 'kernel-xfrm', why: 'esp4 loaded' });
  t.match(chooseDataPlane(withoutEsp, undefined), { backEnd: 'userspace', why: /no esp4 module: ESP in the drivers/ });
  t.match(chooseDataPlane(withEsp, 'userspace'), { backEnd: 'userspace', why: /forced/ });
});
