import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { loadBoardFile } from '../../../firmware/board/load.ts';
import { AB_LAUNCHER, initFiles } from '../../../scripts/firmware/init-files.ts';
import { boardSlotLayout, slotLayoutIn } from '../../../firmware/upgrade/slot-store.ts';
import { hasBinary } from '../../lab/command.ts';
import { labSkip } from '../../lab/skip.ts';
import { tempDir } from '../../helpers/tmp.ts';

const boards = readdirSync('board').filter((f) => f.endsWith('.json')).map((f) => loadBoardFile(join('board', f)));

t.test('every board gets a unit, a procd script and an inittab line, filled in', async (t) => {
  for (const board of boards) {
    const files = initFiles(board);
    t.same(Object.keys(files).sort(), ['inittab', 'postern.init', 'postern.service'], board.name);
    for (const [name, text] of Object.entries(files)) t.notMatch(text, /@[A-Z]+@/, `${board.name} ${name}: no placeholder left`);
    const exec = board.storage.layout === 'ab-slots' ? AB_LAUNCHER : board.storage.imagePath;
    t.match(files['postern.service'], new RegExp(`ExecStart=${exec} run --state ${board.storage.stateDir}\\n`));
    t.match(files['postern.service'], /Restart=always/);
    t.match(files['postern.service'], /CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE\n/);
    for (const option of ['ProtectSystem=strict', 'PrivateTmp=yes', 'NoNewPrivileges=yes']) t.match(files['postern.service'], `${option}\n`);
    t.match(files['postern.init'], /procd_set_param respawn/);
    t.match(files['inittab'], new RegExp(`::respawn:/usr/bin/env NODE_OPTIONS=--max-semi-space-size=2 ${exec} run --state`));
    // Each way of starting the service caps V8's young generation (issue 23: resident memory per IKE SA).
    t.match(files['postern.service'], /\nEnvironment=NODE_OPTIONS=--max-semi-space-size=2\n/);
    t.match(files['postern.init'], /\n\tprocd_set_param env NODE_OPTIONS=--max-semi-space-size=2\n/);
  }
});

t.test('an A/B board\'s slots are where its launcher looks: the upgrade writes what the launcher boots', async (t) => {
  const slotted = boards.filter((b) => b.storage.layout === 'ab-slots');
  t.ok(slotted.length >= 2, 'the real boards are A/B');
  const launcherDir = join(dirname(AB_LAUNCHER), 'slots');
  for (const board of slotted) t.same(boardSlotLayout(board), slotLayoutIn(launcherDir), `${board.name}: slots/ beside ${AB_LAUNCHER}`);
});

t.test('the procd script is valid sh', async (t) => {
  const dir = tempDir(t);
  for (const board of boards) {
    const file = join(dir, `${board.name}.init`);
    writeFileSync(file, initFiles(board)['postern.init']!);
    const r = spawnSync('sh', ['-n', file], { encoding: 'utf8' });
    t.equal(r.status, 0, `${board.name}: sh -n ${r.stderr}`);
  }
});

const noAnalyze = labSkip(!hasBinary('systemd-analyze') ? 'systemd-analyze is not installed' : false);

t.test('systemd-analyze verify accepts the unit', { skip: noAnalyze }, async (t) => {
  const dir = tempDir(t);
  // verify wants ExecStart to exist: point it at an executable of this machine.
  for (const board of boards.filter((b) => b.name === 'generic-x64' || b.name === 'nanopi-r5s')) {
    const unit = join(dir, 'postern.service');
    writeFileSync(unit, initFiles(board)['postern.service']!.replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8', timeout: 30_000 });
    const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('postern.service'));
    t.same(complaints, [], `${board.name}: ${r.stdout}${r.stderr}`);
    t.equal(r.status, 0, `${board.name}: exit ${r.status} ${r.stderr}`);
  }
});
