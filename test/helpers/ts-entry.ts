// How a test starts a TypeScript program (postern run, a lab peer, the fleet console): its build from
// this run when test/run.mjs compiled one (POSTERN_COMPILED, test/compile.mjs), otherwise through tsx.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** The node arguments that run `path` (from the repository root, or absolute inside it). */
export function tsEntry(path: string): string[] {
  const source = resolve(path);
  const dir = process.env['POSTERN_COMPILED'];
  if (dir) {
    const built = join(dir, relative(process.cwd(), source).replace(/\.tsx?$/, '.mjs'));
    if (existsSync(built)) return ['--enable-source-maps', built];
  }
  return ['--import', 'tsx', source];
}
