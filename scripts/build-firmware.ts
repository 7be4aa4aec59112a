// `make firmware [BOARD=name]`: the single executable for one board, or for generic-x64 and
// generic-arm64 (and the package for generic-armv7), copied to build/firmware/<board>/: postern, or
// postern-<board>.tar.gz for armv7 boards (scripts/firmware/build.ts does the work). VERSION=X.Y.Z
// stamps a release version instead of package.json's.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildFirmware, listBoards } from './firmware/build.ts';
import { initFiles } from './firmware/init-files.ts';

const board = process.argv[2] || undefined;
const boards = board ? [board] : ['generic-x64', 'generic-arm64', 'generic-armv7'];
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
try {
  for (const name of boards) {
    const fw = buildFirmware(name, process.env['VERSION'] ? { version: process.env['VERSION'] } : {});
    const out = join('build/firmware', name);
    mkdirSync(out, { recursive: true });
    const shipped = fw.archive ?? fw.executable;
    const m = fw.manifest;
    copyFileSync(shipped, join(out, basename(shipped)));
    writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(fw.manifest, null, 1)}\n`);
    // What init starts on an A/B box: it boots slots/a or slots/b beside it (firmware/upgrade/launcher.sh).
    if (m.form === 'sea') copyFileSync('firmware/upgrade/launcher.sh', join(out, 'postern-launcher'));
    // The init integration (issue 18): systemd unit, procd script, busybox inittab line, for this board.
    mkdirSync(join(out, 'init'), { recursive: true });
    for (const [file, text] of Object.entries(initFiles(fw.board))) writeFileSync(join(out, 'init', file), text, { mode: file === 'postern.init' ? 0o755 : 0o644 });
    const what = m.form === 'sea' ? `node ${m.node} inside, ${mb(m.bytes)} (${mb(m.gzipBytes)} gzipped)` : `package for the distribution's node >= 20, ${mb(m.bytes)}`;
    console.log(`${join(out, basename(shipped))}: ${m.arch}, ${what}, commit ${m.commit}${fw.built ? `, built in ${(m.buildMs / 1000).toFixed(0)} s` : ', from the cache'}`);
  }
} catch (error) {
  process.stderr.write(`make firmware: ${error instanceof Error ? error.message : String(error)}\n(boards: ${listBoards().join(', ')})\n`);
  process.exitCode = 1;
}
