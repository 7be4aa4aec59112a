import { release } from 'node:os';
import { defaultProbePaths, probeKernelEsp, type KernelProbePaths } from './kernel-support.ts';

export interface DataPlaneChoice {
  readonly backEnd: 'kernel-xfrm' | 'userspace';
  readonly why: string;
}

/**
 * Which back end carries ESP on this board: the kernel's own when it has ESP (XFRM with esp4),
 * otherwise the userspace drivers. `POSTERN_DATAPLANE=userspace` forces the drivers (benchmarks,
 * kernels whose ESP is known to be slow).
 */
export function chooseDataPlane(paths: KernelProbePaths = defaultProbePaths(release()), forced = process.env['POSTERN_DATAPLANE']): DataPlaneChoice {
  if (forced === 'userspace') return { backEnd: 'userspace', why: 'forced by POSTERN_DATAPLANE' };
  const kernel = probeKernelEsp(paths);
  return kernel.esp ? { backEnd: 'kernel-xfrm', why: kernel.why } : { backEnd: 'userspace', why: `${kernel.why}: ESP in the drivers` };
}
