// `make firmware [BOARD=name]`: the single executable for one board, or for generic-x64 and
// generic-arm64, copied to build/firmware/<board>/postern (scripts/firmware/build.ts does the work).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFirmware, listBoards } from './firmware/build.ts';

const board = process.argv[2] || undefined;
const boards = board ? [board] : ['generic-x64', 'generic-arm64'];
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
try {
  for (const name of boards) {
    const fw = buildFirmware(name);
    const out = join('build/firmware', name);
    mkdirSync(out, { recursive: true });
    copyFileSync(fw.executable, join(out, 'postern'));
    writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(fw.manifest, null, 1)}\n`);
    const m = fw.manifest;
    console.log(`${out}/postern: ${m.arch}, node ${m.node}, ${mb(m.bytes)} (${mb(m.gzipBytes)} gzipped), commit ${m.commit}${fw.built ? `, built in ${(m.buildMs / 1000).toFixed(0)} s` : ', from the cache'}`);
  }
} catch (error) {
  process.stderr.write(`make firmware: ${error instanceof Error ? error.message : String(error)}\n(boards: ${listBoards().join(', ')})\n`);
  process.exitCode = 1;
}
