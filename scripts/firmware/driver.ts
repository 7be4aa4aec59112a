import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { must, type Runtime } from './runtime.ts';
import type { Target } from './targets.ts';

/**
 * The data-plane driver for one target, compiled straight with the target's gcc against the exact
 * runtime's headers (node-gyp's job on the build machine, done here without it: cross builds need
 * only the sources binding.gyp lists and the flags below). OpenSSL's symbols stay undefined and
 * resolve against the runtime at load, as with node-gyp: one OpenSSL in the process.
 */
export function buildDriver(target: Target, runtime: Runtime, outFile: string): void {
  const gyp = JSON.parse(readFileSync(resolve('drivers/binding.gyp'), 'utf8')) as { targets: Array<{ sources: string[]; defines: string[] }> };
  const spec = gyp.targets[0];
  if (!spec) throw new Error('drivers/binding.gyp has no target');
  const tmp = `${outFile}.tmp-${process.pid}`;
  mkdirSync(join(outFile, '..'), { recursive: true });
  must([
    target.cc, '-shared', '-fPIC', '-pthread', '-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror',
    '-D_LARGEFILE_SOURCE', '-D_FILE_OFFSET_BITS=64', '-DBUILDING_NODE_EXTENSION', ...spec.defines.map((d) => `-D${d}`),
    '-I', runtime.include, '-I', 'drivers/lib', '-I', 'drivers/napi',
    '-o', tmp, ...spec.sources.map((s) => join('drivers', s)), '-lpthread',
  ], 600_000);
  must([target.strip, '--strip-unneeded', tmp], 60_000);
  renameSync(tmp, outFile); // atomic replace: a concurrent build copying the old file never sees none
}
