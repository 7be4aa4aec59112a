// Time zone and NTP servers applied to a system (issue 17), on temporary roots laid out as a Debian
// (systemd), an OpenWrt and a busybox box; the commands are recorded, never run. And who owns a system.
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import type { BoardProfile } from '../../../firmware/board/types.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { applyTime, ownedSystemRoot, TimeSubsystem } from '../../../firmware/system/time-apply.ts';
import { TIMESYNCD_DROP_IN } from '../../../firmware/system/time-plan.ts';
import { tempDir } from '../../helpers/tmp.ts';

/** A root with these files (empty unless given). */
function rootWith(t: Parameters<typeof tempDir>[0], files: Record<string, string>): string {
  const root = tempDir(t, 'postern-root-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const recorder = () => {
  const ran: string[] = [];
  return { ran, run: async (argv: readonly string[]) => void ran.push(argv.join(' ')) };
};

t.test('busybox box: /etc/localtime linked to the zone, /etc/ntp.conf written, nothing rewritten when unchanged', async (t) => {
  const root = rootWith(t, { '/usr/share/zoneinfo/Europe/Berlin': 'TZif', '/usr/share/zoneinfo/UTC': 'TZif', '/etc/timezone': 'UTC\n', '/sbin/ntpd': '' });
  const { ran, run } = recorder();
  const first = await applyTime({ timezone: 'Europe/Berlin', ntpServers: ['ntp1.example.net', '192.0.2.123'] }, root, run);
  t.same(first.errors, []);
  t.same(first.changed.sort(), ['/etc/localtime', '/etc/ntp.conf', '/etc/timezone']);
  t.equal(readlinkSync(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin');
  t.equal(readFileSync(join(root, 'etc/timezone'), 'utf8'), 'Europe/Berlin\n');
  t.match(readFileSync(join(root, 'etc/ntp.conf'), 'utf8'), /^# Written by Postern[^\n]*\nserver ntp1\.example\.net\nserver 192\.0\.2\.123\n$/);
  t.match(first.notes, [/next start/]);
  t.same(ran, [], 'no command on a busybox box');
  const again = await applyTime({ timezone: 'Europe/Berlin', ntpServers: ['ntp1.example.net', '192.0.2.123'] }, root, run);
  t.same(again.changed, [], 'the same settings again: nothing written');
  await applyTime({ timezone: 'UTC', ntpServers: [] }, root, run);
  t.equal(readlinkSync(join(root, 'etc/localtime')), '/usr/share/zoneinfo/UTC', 'the link replaced');
  t.match(readFileSync(join(root, 'etc/ntp.conf'), 'utf8'), /192\.0\.2\.123/, 'no servers: ntp.conf left as it was (the system\'s own)');
});

t.test('systemd box: the zone through timedatectl, servers in a timesyncd drop-in, removed when emptied', async (t) => {
  const root = rootWith(t, { '/usr/bin/timedatectl': '', '/lib/systemd/systemd-timesyncd': '', '/usr/share/zoneinfo/Asia/Tokyo': 'TZif' });
  const { ran, run } = recorder();
  const r = await applyTime({ timezone: 'Asia/Tokyo', ntpServers: ['time.example.org'] }, root, run);
  t.same(r.errors, []);
  t.same(ran, ['timedatectl set-timezone Asia/Tokyo', 'systemctl try-restart systemd-timesyncd.service']);
  t.notOk(existsSync(join(root, 'etc/localtime')), 'timedated owns /etc/localtime (read-only to the service)');
  t.match(readFileSync(join(root, TIMESYNCD_DROP_IN), 'utf8'), /\[Time\]\nNTP=time\.example\.org\n$/);
  const cleared = await applyTime({ timezone: 'Asia/Tokyo', ntpServers: [] }, root, run);
  t.same(cleared.changed, [TIMESYNCD_DROP_IN]);
  t.notOk(existsSync(join(root, TIMESYNCD_DROP_IN)), 'no servers: the distribution\'s own again');
});

t.test('OpenWrt: zone name and its POSIX TZ string and servers through uci, sysntpd restarted; a zone without its file is an error', async (t) => {
  const root = rootWith(t, { '/sbin/uci': '', '/etc/config/system': '', '/etc/init.d/sysntpd': '' });
  mkdirSync(join(root, 'usr/share/zoneinfo/Europe'), { recursive: true });
  writeFileSync(join(root, 'usr/share/zoneinfo/Europe/Berlin'), readFileSync('/usr/share/zoneinfo/Europe/Berlin'));
  const { ran, run } = recorder();
  const r = await applyTime({ timezone: 'Europe/Berlin', ntpServers: ['a.example', 'b.example'] }, root, run);
  t.same(r.changed, []);
  t.same(r.errors, []);
  t.same(ran, [
    'uci set system.@system[0].zonename=Europe/Berlin', 'uci set system.@system[0].timezone=CET-1CEST,M3.5.0,M10.5.0/3', 'uci commit system', '/etc/init.d/system reload',
    'uci -q delete system.ntp.server', 'uci add_list system.ntp.server=a.example', 'uci add_list system.ntp.server=b.example', 'uci commit system', '/etc/init.d/sysntpd restart',
  ]);
  const missing = recorder();
  const m = await applyTime({ timezone: 'America/New_York', ntpServers: [] }, root, missing.run);
  t.match(m.errors, [/time zone America\/New_York not applied: no \/usr\/share\/zoneinfo\/America\/New_York on this OpenWrt/]);
  t.same(missing.ran, [], 'neither zonename nor timezone changed');
});

t.test('busybox box with an ntpd init script: restarted after /etc/ntp.conf; not with systemd', async (t) => {
  const root = rootWith(t, { '/usr/sbin/ntpd': '', '/etc/init.d/ntpd': '' });
  const { ran, run } = recorder();
  const r = await applyTime({ timezone: 'UTC', ntpServers: ['ntp.example'] }, root, run);
  t.same(r.errors, []);
  t.same(r.changed, ['/etc/ntp.conf']);
  t.same(ran, ['/etc/init.d/ntpd restart'], 'after the file (actions run in order)');
  t.same(r.notes.filter((n) => /next start/.test(n)), []);
  const empty = recorder();
  await applyTime({ timezone: 'UTC', ntpServers: [] }, root, empty.run);
  t.same(empty.ran, [], 'no servers: ntpd left alone');
  const systemd = rootWith(t, { '/usr/bin/timedatectl': '', '/usr/sbin/ntpd': '', '/etc/init.d/ntpd': '' });
  const s = recorder();
  await applyTime({ timezone: 'UTC', ntpServers: ['ntp.example'] }, systemd, s.run);
  t.same(s.ran, ['timedatectl set-timezone UTC'], 'systemd: its own units, not the init script');
});

t.test('a failing tool or an unknown zone is reported, not thrown', async (t) => {
  const root = rootWith(t, { '/usr/bin/timedatectl': '' });
  const r = await applyTime({ timezone: 'Europe/Paris', ntpServers: ['x.example'] }, root, async () => {
    throw new Error('Failed to connect to bus');
  });
  t.match(r.errors, [/timedatectl set-timezone Europe\/Paris: Failed to connect to bus/]);
  t.match(r.notes, [/no NTP client/]);
  const bare = await applyTime({ timezone: 'Europe/Paris', ntpServers: [] }, rootWith(t, {}), recorder().run);
  t.match(bare.notes, [/no \/usr\/share\/zoneinfo\/Europe\/Paris/]);
});

t.test('who owns the system: the image on its own board and state directory; a stand-in root; never a developer machine', async (t) => {
  const board = { name: 'nanopi-r5s', storage: { stateDir: '/var/lib/postern' } } as unknown as BoardProfile;
  const generic = { name: 'generic-x64', storage: { stateDir: '/var/lib/postern' } } as unknown as BoardProfile;
  t.equal(ownedSystemRoot({ board, explicit: true }, '/var/lib/postern', {}, board), '/', 'the firmware image on its board');
  t.equal(ownedSystemRoot({ board, explicit: true }, '/tmp/elsewhere', {}, board), undefined, 'the image run on another state directory');
  t.equal(ownedSystemRoot({ board: generic, explicit: false }, '/var/lib/postern', {}, undefined), undefined, 'a run from source (make run)');
  t.equal(ownedSystemRoot({ board, explicit: true }, '/var/lib/postern', {}, undefined), undefined, '--board FILE from source');
  t.equal(ownedSystemRoot({ board: generic, explicit: false }, '/x', { POSTERN_SYSTEM_ROOT: '/tmp/root' }, undefined), '/tmp/root', 'a stand-in root');
});

t.test('the subsystem: process TZ always; the stand-in root follows the configuration', async (t) => {
  const root = rootWith(t, { '/usr/share/zoneinfo/Europe/Berlin': 'TZif', '/usr/share/zoneinfo/UTC': 'TZif' });
  const before = process.env['TZ'];
  t.teardown(() => (before === undefined ? delete process.env['TZ'] : (process.env['TZ'] = before)));
  const { sink, records } = memorySink();
  const time = new TimeSubsystem({ logger: createLogger({ sink }), root, run: recorder().run });
  const config = defaultConfig();
  await time.start(config);
  t.equal(readlinkSync(join(root, 'etc/localtime')), '/usr/share/zoneinfo/UTC');
  config.system.timezone = 'Europe/Berlin';
  await time.reconfigure(config);
  t.equal(process.env['TZ'], 'Europe/Berlin');
  t.equal(new Date(Date.UTC(2026, 6, 1, 12)).getHours(), 14, 'the process\'s local time follows (CEST)');
  t.equal(readlinkSync(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin');
  t.ok(records.some((r) => r.msg === 'time settings applied'), 'logged');
  t.match(time.status(), { state: 'running', appliedTo: 'system', detail: /Europe\/Berlin/, counters: { applied: 2, failures: 0 } });
  const unowned = new TimeSubsystem({ logger: createLogger({ sink: () => {} }), root: undefined });
  await unowned.start(config);
  t.match(unowned.status(), { appliedTo: 'process-only', detail: /not Postern's to change/ });
});
