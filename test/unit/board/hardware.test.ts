import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { ledLevels, LedDriver } from '../../../firmware/board/leds.ts';
import { decodeInputEvents, EV_KEY, inputEventSize, ResetHold } from '../../../firmware/board/reset-button.ts';
import { WatchdogFeeder } from '../../../firmware/board/watchdog.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { wipeStateDir } from '../../../firmware/system/factory-reset.ts';
import { tempDir } from '../../helpers/tmp.ts';

const quiet = () => createLogger({ sink: memorySink().sink });

t.test('LED levels follow what the box does', async (t) => {
  t.same(ledLevels({ running: true, wanUp: true, tunnelsUp: false, error: false }), { power: true, 'wan-up': true, 'tunnels-up': false, error: false });
  t.same(ledLevels({ running: false, wanUp: true, tunnelsUp: true, error: true }), { power: false, 'wan-up': false, 'tunnels-up': false, error: true });
});

t.test('LEDs through a fake sysfs: trigger none, brightness 0 or max, off at stop, a missing LED counted', async (t) => {
  const sys = tempDir(t);
  const led = (name: string, max?: string) => {
    const dir = join(sys, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'brightness'), '0');
    writeFileSync(join(dir, 'trigger'), 'heartbeat');
    if (max) writeFileSync(join(dir, 'max_brightness'), max);
    return dir;
  };
  const power = led('red:power', '255');
  const wan = led('green:wan');
  const tunnels = led('green:lan-1');
  const brightness = (dir: string) => readFileSync(join(dir, 'brightness'), 'utf8');
  const driver = new LedDriver([{ path: power, shows: 'power' }, { path: wan, shows: 'wan-up' }, { path: tunnels, shows: 'tunnels-up' }, { path: join(sys, 'absent'), shows: 'error' }], quiet());
  t.equal(readFileSync(join(power, 'trigger'), 'utf8'), 'none');
  driver.show({ running: true, wanUp: true, tunnelsUp: false, error: true });
  t.same([brightness(power), brightness(wan), brightness(tunnels)], ['255', '1', '0']);
  driver.show({ running: true, wanUp: false, tunnelsUp: true, error: true });
  t.same([brightness(power), brightness(wan), brightness(tunnels)], ['255', '0', '1']);
  t.equal(driver.counters().ledWriteErrors, 2, 'the absent LED failed each time it changed');
  driver.off();
  t.same([brightness(power), brightness(wan), brightness(tunnels)], ['0', '0', '0']);
});

t.test('watchdog: fed only while healthy, magic close on a clean stop (plain file)', async (t) => {
  const dev = join(tempDir(t), 'watchdog');
  writeFileSync(dev, '');
  let ok = true;
  const w = new WatchdogFeeder({ device: dev, healthy: () => (ok ? { ok } : { ok, why: 'sstp failed' }), logger: quiet(), intervalMs: 60_000 });
  w.start();
  w.tick();
  ok = false;
  w.tick();
  w.tick();
  ok = true;
  w.tick();
  w.stop();
  t.equal(readFileSync(dev, 'utf8'), 'kkkV');
  t.same(w.counters(), { watchdogFed: 3, watchdogWithheld: 2 });
  const absent = new WatchdogFeeder({ device: join(dev, 'nope'), healthy: () => ({ ok: true }), logger: quiet() });
  absent.start();
  t.equal(absent.armed, false, 'a missing device is not created');
  absent.stop();
});

t.test('watchdog through a FIFO, as a character device is written', async (t) => {
  const fifo = join(tempDir(t), 'wd');
  execFileSync('mkfifo', [fifo]);
  // The reading end first (non-blocking), as the kernel's driver is always there to be written.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => closeSync(reader));
  const w = new WatchdogFeeder({ device: fifo, healthy: () => ({ ok: true }), logger: quiet(), intervalMs: 20 });
  w.start();
  t.equal(w.armed, true);
  await new Promise((resolve) => setTimeout(resolve, 90));
  w.stop();
  const buffer = Buffer.alloc(4096);
  const text = buffer.subarray(0, readSync(reader, buffer)).toString();
  t.match(text, /^k{2,}V$/);
});

t.test('input events: 24-byte (64-bit) and 16-byte (32-bit) structs, partial tails kept', async (t) => {
  const event = (word: 4 | 8, type: number, code: number, value: number) => {
    const b = Buffer.alloc(inputEventSize(word));
    b.writeUInt16LE(type, 2 * word);
    b.writeUInt16LE(code, 2 * word + 2);
    b.writeInt32LE(value, 2 * word + 4);
    return b;
  };
  const bytes = Buffer.concat([event(8, EV_KEY, 408, 1), event(8, 0, 0, 0), event(8, EV_KEY, 408, 0).subarray(0, 10)]);
  const { events, rest } = decodeInputEvents(bytes, 8);
  t.same(events, [{ type: 1, code: 408, value: 1 }, { type: 0, code: 0, value: 0 }]);
  t.equal(rest.byteLength, 10);
  t.same(decodeInputEvents(event(4, EV_KEY, 0x198, 2), 4).events, [{ type: 1, code: 408, value: 2 }]);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom<4 | 8>(4, 8), (b, w) => {
    const r = decodeInputEvents(b, w);
    return r.events.length * inputEventSize(w) + r.rest.byteLength === b.byteLength;
  }));
});

t.test('reset hold on a fake clock: 10 s held resets once; a release before cancels', async (t) => {
  const hold = new ResetHold(10);
  t.equal(hold.key(1, 1_000), false);
  t.equal(hold.nextTimeout(), 11_000);
  t.equal(hold.key(2, 5_000), false, 'autorepeat changes nothing');
  t.equal(hold.timeout(10_999), false);
  t.equal(hold.timeout(11_000), true);
  t.equal(hold.timeout(12_000), false, 'once per press');
  t.equal(hold.nextTimeout(), undefined);
  hold.key(0, 13_000);
  t.equal(hold.key(1, 20_000), false);
  hold.key(0, 29_999);
  t.equal(hold.timeout(40_000), false, 'released at 9.999 s: no reset');
  t.equal(hold.held, false);
  t.equal(hold.key(1, 50_000), false);
  t.equal(hold.key(2, 60_000), true, 'an event at or past the deadline fires too');
});

t.test('factory wipe: everything in the state directory but what is kept', async (t) => {
  const state = tempDir(t);
  for (const d of ['config', 'pki', 'run']) mkdirSync(join(state, d));
  writeFileSync(join(state, 'config', 'current.json'), '{}');
  writeFileSync(join(state, 'history.log'), 'x');
  t.same(wipeStateDir(state, [join(state, 'run'), '/elsewhere']).sort(), ['config', 'history.log', 'pki']);
  t.same(execFileSync('ls', [state]).toString().trim(), 'run');
});
