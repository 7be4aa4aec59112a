// `make upgrade-bundle [BOARD=name]`: the signed update bundle for each board's executable, written
// beside it: build/firmware/<board>/postern-<version>-<board>.bundle. Built after `make firmware`
// (from its cache); signed with POSTERN_UPGRADE_SIGNING_KEY or the development key
// (scripts/upgrade-key.mjs). POSTERN_UPGRADE_MIN_VERSION sets the anti-rollback floor it carries.
import { createHash, createPrivateKey } from 'node:crypto';
import { closeSync, createReadStream, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { encodeSignedPrefix, type BundleHeader } from '../firmware/upgrade/bundle-format.ts';
import { buildFirmware } from './firmware/build.ts';
// @ts-expect-error a plain ES module of the build scripts, without types
import { signingKeyPath } from './upgrade-key.mjs';

const board = process.argv[2] || undefined;
const boards = board ? [board] : ['generic-x64', 'generic-arm64'];
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const key = createPrivateKey(readFileSync(signingKeyPath() as string, 'utf8'));
for (const name of boards) {
  const fw = buildFirmware(name);
  if (fw.manifest.form !== 'sea') {
    console.log(`${name}: a package for the distribution's node, upgraded by its package manager: no bundle`);
    continue;
  }
  const payload = readFileSync(fw.executable);
  const header: BundleHeader = {
    version, arch: fw.manifest.arch as BundleHeader['arch'], boards: [name], minVersion: process.env['POSTERN_UPGRADE_MIN_VERSION'] ?? '0.0.0',
    payloadBytes: payload.length, payloadSha256: createHash('sha256').update(payload).digest('hex'), commit: fw.manifest.commit, builtAt: fw.manifest.builtAt,
  };
  const out = join('build/firmware', name, `postern-${version}-${name}.bundle`);
  const fd = openSync(out, 'w', 0o644);
  writeSync(fd, encodeSignedPrefix(header, key));
  closeSync(fd);
  await pipeline(createReadStream(fw.executable), createWriteStream(out, { flags: 'a' }));
  console.log(`${out}: ${(payload.length / 1e6).toFixed(1)} MB executable, ${header.arch}, board ${name}, floor ${header.minVersion}`);
}
