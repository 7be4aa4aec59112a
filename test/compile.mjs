// Compiles the test files and the programs tests start (firmware/main.ts, the lab peers) with esbuild
// before a run, so each file starts as plain JavaScript: under tsx every process spent about a second
// more of CPU on loading TypeScript than on its tests (0.4 s against 1.2 s for a small unit file; a lab
// daemon 1.2 s against 3 s), about a third of the suite's time on two cores.
// One build with shared chunks; packages stay in node_modules. `import.meta.url` (and dirname,
// filename) keep naming the source file, so paths made from it still point into the tree.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Programs the tests start as separate processes (test/helpers/ts-entry.ts runs their builds). */
const PROGRAMS = ['firmware/main.ts'];
const PROGRAM_DIRS = ['test/lab/peers', 'test/lab/fixtures', 'test/crash'];

const sourceMeta = {
  name: 'source-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.tsx?$/ }, (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const contents = text
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path));
      return { contents, loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts' };
    });
  },
};

/** The build of `file` (a path from the repository root) inside `outDir`. */
export const compiledPath = (outDir, file) => join(outDir, file.replace(/\.tsx?$/, '.mjs'));

export async function compileTests(testFiles, outDir) {
  const programs = [
    ...PROGRAMS,
    ...PROGRAM_DIRS.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => /\.ts$/.test(f) && !f.endsWith('.test.ts')).map((f) => join(d, f)) : [])),
  ];
  await build({
    entryPoints: [...testFiles, ...programs],
    outdir: outDir,
    outbase: '.',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [sourceMeta],
  });
}

/** Builds left by runs that died (their process is gone). */
export function sweepStaleBuilds(parent, prefix) {
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
    if (!Number.isInteger(pid)) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}
