import { existsSync, readFileSync } from 'node:fs';

/**
 * Whether the running kernel can do ESP itself (XFRM with esp4/esp6 built in, loaded or loadable).
 * On boards that can, the kernel back end is used; elsewhere (this lab's host, some board kernels)
 * the userspace back end over drivers/. Paths are injectable for tests.
 */
export interface KernelProbePaths {
  readonly xfrmStat: string;
  readonly modules: string;
  readonly moduleDir: string;
}

export const defaultProbePaths = (release: string): KernelProbePaths => ({
  xfrmStat: '/proc/net/xfrm_stat',
  modules: '/proc/modules',
  moduleDir: `/lib/modules/${release}`,
});

export interface KernelSupport {
  readonly xfrm: boolean;
  readonly esp: boolean;
  readonly why: string;
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

export function probeKernelEsp(paths: KernelProbePaths): KernelSupport {
  if (!existsSync(paths.xfrmStat)) return { xfrm: false, esp: false, why: 'no XFRM in this kernel' };
  if (/^esp4 /m.test(read(paths.modules))) return { xfrm: true, esp: true, why: 'esp4 loaded' };
  if (/\/esp4\.ko/.test(read(`${paths.moduleDir}/modules.builtin`))) return { xfrm: true, esp: true, why: 'esp4 built in' };
  if (/\/esp4\.ko(\.[a-z]+)?:/m.test(read(`${paths.moduleDir}/modules.dep`))) return { xfrm: true, esp: true, why: 'esp4 loadable' };
  return { xfrm: true, esp: false, why: 'XFRM present but no esp4 module' };
}
