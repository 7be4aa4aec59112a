import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { loadBoardFile } from '../../../firmware/board/load.ts';
import { validateBoard } from '../../../firmware/board/validate.ts';
import { tempDir } from '../../helpers/tmp.ts';

const BOARD_DIR = 'board';
const profiles = readdirSync(BOARD_DIR).filter((f) => f.endsWith('.json'));
const read = (file: string): Record<string, any> => JSON.parse(readFileSync(join(BOARD_DIR, file), 'utf8')) as Record<string, any>;
const paths = (doc: unknown): string[] => {
  const r = validateBoard(doc);
  return r.ok ? [] : r.errors.map((e) => `${e.path} ${e.code}`);
};

t.test('every shipped profile is valid and named after its file', async (t) => {
  t.ok(profiles.length >= 4);
  for (const name of ['generic-arm64', 'generic-armv7', 'generic-x64', 'nanopi-r5s', 'rpi4-usb-nic', 'turris-omnia']) t.ok(profiles.includes(`${name}.json`), name);
  for (const file of profiles) {
    const board = loadBoardFile(join(BOARD_DIR, file));
    t.equal(board.name, file.replace(/\.json$/, ''), file);
    t.equal(board.interfaces.filter((i) => i.role === 'wan').length, 1, `${file}: one WAN`);
  }
  const arm = profiles.map(read).filter((b) => b['architecture'] === 'arm64' && !String(b['name']).startsWith('generic'));
  t.ok(arm.length >= 2, 'at least two real arm64 boards');
});

t.test('schema errors name the path and why', async (t) => {
  const doc = read('nanopi-r5s.json');
  doc['architecture'] = 'mips';
  doc['interfaces'][0].name = 'this-name-is-too-long';
  doc['leds'][1].shows = 'disco';
  doc['resetButton'].holdSeconds = 1;
  doc['watchdog'] = 'watchdog';
  doc['storage'].stateDir = '/var/../etc';
  doc['extra'] = 1;
  delete doc['kernel'];
  t.same(paths(doc).sort(), [
    'architecture enum', 'extra unknown', 'interfaces[0].name format', 'kernel required', 'leds[1].shows enum',
    'resetButton.holdSeconds range', 'storage.stateDir format', 'watchdog format',
  ]);
});

t.test('a profile needs exactly one WAN and a LAN, unique interface names', async (t) => {
  const doc = read('generic-arm64.json');
  doc['interfaces'][1].role = 'wan';
  t.same(paths(doc), ['interfaces wan', 'interfaces lan']);
  doc['interfaces'] = [{ name: 'eth0', role: 'lan', label: 'a' }, { name: 'eth0', role: 'spare', label: 'b' }];
  t.same(paths(doc), ['interfaces[1].name duplicate']);
});

t.test('each LED state is shown once, by an LED under /sys/class/leds', async (t) => {
  const doc = read('nanopi-r5s.json');
  doc['leds'][2].shows = 'power';
  doc['leds'][3].path = '/sys/devices/platform/leds';
  t.same(paths(doc), ['leds[2].shows duplicate', 'leds[3].path format']);
});

t.test('the storage layout decides which of slots and imagePath is required', async (t) => {
  const ab = read('nanopi-r5s.json');
  delete ab['storage'].slots;
  t.same(paths(ab), ['storage.slots required']);
  ab['storage'].slots = { a: '/dev/mmcblk0p5', b: '/dev/mmcblk0p5' };
  ab['storage'].imagePath = '/usr/bin/postern';
  t.same(paths(ab), ['storage.slots.b duplicate', 'storage.imagePath layout']);
  const image = read('generic-x64.json');
  delete image['storage'].imagePath;
  image['storage'].slots = { a: '/a', b: '/b' };
  t.same(paths(image), ['storage.imagePath required', 'storage.slots layout']);
});

t.test('no reset button and no watchdog are valid', async (t) => {
  const doc = read('nanopi-r5s.json');
  delete doc['resetButton'];
  doc['watchdog'] = null;
  t.same(paths(doc), []);
});

t.test('the loader refuses a name that is not the file name, and unreadable JSON', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'other-board.json');
  writeFileSync(file, JSON.stringify(read('generic-x64.json')));
  t.throws(() => loadBoardFile(file), /name 'generic-x64' must match the file name 'other-board'/);
  writeFileSync(file, '{');
  t.throws(() => loadBoardFile(file), /board profile .*other-board\.json/);
  const bad = { ...read('generic-x64.json'), name: 'other-board', watchdog: 3 };
  writeFileSync(file, JSON.stringify(bad));
  t.throws(() => loadBoardFile(file), /watchdog: must be a string, not number/);
});

t.test('the validator never throws, whatever it is given', async (t) => {
  const base = read('nanopi-r5s.json');
  fc.assert(
    fc.property(fc.anything(), fc.constantFrom('interfaces', 'leds', 'storage', 'kernel', 'resetButton', 'name'), (junk, key) => {
      validateBoard(junk);
      validateBoard({ ...base, [key]: junk });
    }),
    { numRuns: 500 },
  );
  t.pass();
});
