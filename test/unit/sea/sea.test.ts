import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { versionLine, versionReport } from '../../../firmware/cli/version.ts';
import { prepareRuntimeDir, writeDriver } from '../../../firmware/sea/driver-asset.ts';
import { mountOf, parseMountinfo } from '../../../firmware/sea/mountinfo.ts';
import { tempDir } from '../../helpers/tmp.ts';

const MOUNTINFO = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '25 22 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,mode=755',
  '26 25 0:24 / /run/postern rw,nosuid,nodev,relatime shared:6 - tmpfs tmpfs rw,mode=700',
  '27 22 0:25 / /mnt/my\\040disk rw,noexec - vfat /dev/sdb1 rw',
  '28 22 0:26 / /tmp rw,nosuid,nodev shared:7 - tmpfs tmpfs rw',
  '29 22 0:27 / /tmp rw,noexec shared:8 master:3 - tmpfs tmpfs rw',
  'garbage line',
  '',
].join('\n');

t.test('mountinfo: the mount a path is on, escapes, overmounts, optional fields', async (t) => {
  const entries = parseMountinfo(MOUNTINFO);
  t.equal(entries.length, 6, 'malformed lines are skipped');
  t.equal(mountOf(entries, '/var/lib/postern')?.mountPoint, '/');
  t.same(mountOf(entries, '/run/postern/x')?.options.includes('noexec'), false, 'an exec mount inside a noexec one');
  t.ok(mountOf(entries, '/run/other')?.options.includes('noexec'));
  t.equal(mountOf(entries, '/runner')?.mountPoint, '/', 'a mount point is a whole path component');
  t.equal(mountOf(entries, '/mnt/my disk/rt')?.fsType, 'vfat', 'octal escapes in mount points');
  t.ok(mountOf(entries, '/tmp/rt')?.options.includes('noexec'), 'the later mount on the same point wins');
});

t.test('the runtime directory is made private, and a noexec mount is refused with the reason', async (t) => {
  const base = tempDir(t);
  const dir = join(base, 'rt');
  const exec = `1 0 0:1 / / rw - ext4 /dev/root rw\n`;
  t.equal(prepareRuntimeDir(dir, exec), dir);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  chmodSync(dir, 0o755);
  prepareRuntimeDir(dir, exec);
  t.equal(statSync(dir).mode & 0o777, 0o700, 'a too open directory is closed again');
  const noexec = `${exec}2 1 0:2 / ${base} rw,nosuid,noexec - tmpfs tmpfs rw\n`;
  t.throws(() => prepareRuntimeDir(dir, noexec), { code: 'POSTERN_ERR_DRIVER_UNAVAILABLE', message: new RegExp(`runtime directory ${dir} .*mounted noexec.*--runtime-dir`) });
  const link = join(base, 'link');
  symlinkSync(dir, link);
  t.throws(() => prepareRuntimeDir(link, exec), /symbolic links are refused/);
  const file = join(base, 'file');
  writeFileSync(file, '');
  t.throws(() => prepareRuntimeDir(file, exec), /not a directory|EEXIST|ENOTDIR/);
});

t.test('a runtime directory owned by another user is refused', { skip: process.getuid?.() === 0 ? false : 'needs root to chown' }, async (t) => {
  const dir = join(tempDir(t), 'theirs');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 65534, 65534);
  t.throws(() => prepareRuntimeDir(dir, '1 0 0:1 / / rw - ext4 /dev/root rw\n'), /belongs to uid 65534, not to this process/);
});

t.test('the driver is written once under its hash, read-only, older copies removed', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'postern_dp-0123456789abcdef.node'), 'old');
  writeFileSync(join(dir, '.postern_dp-0123456789abcdef.node.99.tmp'), 'half');
  writeFileSync(join(dir, 'unrelated'), 'kept');
  const one = writeDriver(dir, Buffer.from('driver one'));
  t.match(one, /postern_dp-[0-9a-f]{16}\.node$/);
  t.equal(readFileSync(one, 'utf8'), 'driver one');
  t.equal(statSync(one).mode & 0o777, 0o500);
  t.same(readdirSync(dir).sort(), [one.split('/').pop(), 'unrelated'].sort());
  const mtime = statSync(one).mtimeMs;
  t.equal(writeDriver(dir, Buffer.from('driver one')), one, 'the same bytes: the same file');
  t.equal(statSync(one).mtimeMs, mtime, 'not rewritten (no flash wear at each start)');
  chmodSync(one, 0o600);
  writeFileSync(one, 'tampered');
  t.equal(readFileSync(writeDriver(dir, Buffer.from('driver one')), 'utf8'), 'driver one', 'a copy that does not match its hash is replaced');
  const two = writeDriver(dir, Buffer.from('driver two'));
  t.not(two, one);
  t.notOk(existsSync(one), 'the previous version is removed');
});

t.test('version: one line that starts as it always did, or JSON', async (t) => {
  const report = versionReport({ version: '1.2.3', commit: 'abc1234', builtAt: '2026-01-02T03:04:05.000Z', board: 'nanopi-r5s' }, { node: 'v24.22.3', arch: 'arm64', singleExecutable: true });
  t.equal(versionLine(report), 'postern 1.2.3 (commit abc1234, built 2026-01-02T03:04:05.000Z, node v24.22.3, arm64, board nanopi-r5s, single executable)\n');
  const plain = versionReport({ version: '1.2.3', commit: 'source', builtAt: 'unbuilt' }, { node: 'v20.20.2', arch: 'x64', singleExecutable: false });
  t.equal(plain.board, 'none');
  t.match(versionLine(plain), /^postern 1\.2\.3 \(commit source, built unbuilt, node v20\.20\.2, x64, board none\)\n$/);
});
