import type { NetworkInterfaceInfo } from 'node:os';
import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { parseDefaultRoute } from '../../../firmware/network/default-route.ts';
import { presetInterfaces, primaryWanAddress, resolveInterfaceRoles, wanAddresses } from '../../../firmware/network/interface-roles.ts';
import { diffWan, WanWatcher } from '../../../firmware/network/wan-watch.ts';
import { selectBoard } from '../../../firmware/board/select.ts';
import { loadBoardFile } from '../../../firmware/board/load.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';

const v4 = (address: string): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/24` });
const v6 = (address: string): NetworkInterfaceInfo => ({ address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/64`, scopeid: 0 });
const nanopi = loadBoardFile('board/nanopi-r5s.json');

t.test('the configured WAN wins when the box has it', async (t) => {
  const system = defaultConfig().system;
  const roles = resolveInterfaceRoles(system, nanopi, { interfaces: { eth0: [v4('198.51.100.7')], eth1: [], eth2: [] } });
  t.same(roles.wan, { name: 'eth0', source: 'config' });
  t.same(roles.lan, { name: 'eth1', source: 'config' });
});

t.test('a box whose WAN is not eth0: the board WAN, then the default route, give it', async (t) => {
  const system = defaultConfig().system; // eth0 / eth1
  const board = { ...nanopi, interfaces: [{ name: 'wan', role: 'wan' as const, label: 'WAN' }, { name: 'lan1', role: 'lan' as const, label: 'LAN' }] };
  t.same(resolveInterfaceRoles(system, board, { interfaces: { wan: [v4('203.0.113.9')], lan1: [] } }), { wan: { name: 'wan', source: 'board' }, lan: { name: 'lan1', source: 'board' } });
  const roles = resolveInterfaceRoles(system, undefined, { interfaces: { enp1s0: [v4('203.0.113.9')], lo: [] }, defaultRoute: 'enp1s0' });
  t.same(roles.wan, { name: 'enp1s0', source: 'default-route' });
  t.same(roles.lan, { name: 'eth1', source: 'missing' }, 'the LAN never falls back to the uplink');
  t.same(resolveInterfaceRoles(system, undefined, { interfaces: {} }).wan, { name: 'eth0', source: 'missing' });
  const a = wanAddresses(system, roles.wan, { interfaces: { enp1s0: [v4('203.0.113.9')] } });
  t.equal(primaryWanAddress(a), '203.0.113.9');
});

t.test('WAN addresses: static first, DHCP as found, no loopback or link-local', async (t) => {
  const system = defaultConfig().system;
  const box = { interfaces: { eth0: [v4('198.51.100.7'), v4('198.51.100.8'), v6('fe80::1'), v6('2001:db8::7')] } };
  t.same(wanAddresses(system, { name: 'eth0', source: 'config' }, box), { interface: 'eth0', ipv4: ['198.51.100.7', '198.51.100.8'], ipv6: ['2001:db8::7'] });
  const fixed = { ...system, wan: { ...system.wan, mode: 'static' as const, address: '198.51.100.8/24' } };
  t.same(wanAddresses(fixed, { name: 'eth0', source: 'config' }, box).ipv4, ['198.51.100.8', '198.51.100.7']);
  t.same(wanAddresses(fixed, { name: 'eth9', source: 'missing' }, box).ipv4, ['198.51.100.8'], 'a static address without its interface is still the one to bind');
  t.equal(primaryWanAddress(wanAddresses(system, { name: 'eth0', source: 'config' }, { interfaces: { eth0: [] } })), undefined, 'DHCP pending: nothing to bind');
});

t.test('the board presets the first configuration\'s interface names', async (t) => {
  const board = { ...nanopi, interfaces: [{ name: 'wan', role: 'wan' as const, label: 'WAN' }, { name: 'br-lan', role: 'lan' as const, label: 'LAN' }] };
  const config = presetInterfaces(defaultConfig(), board);
  t.equal(config.system.wan.interface, 'wan');
  t.equal(config.system.lan.interface, 'br-lan');
  t.equal(presetInterfaces(defaultConfig(), undefined).system.wan.interface, 'eth0');
  t.equal(config.system.management.listen, '127.0.0.1', 'off the firmware (make run) the management stays on loopback');
  t.equal(presetInterfaces(defaultConfig(), board, { managementOnLan: true }).system.management.listen, '192.168.1.1', 'on the firmware it answers on the LAN address, never the WAN');
});

t.test('/proc/net/route: the lowest-metric up default route', async (t) => {
  const head = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
  t.equal(parseDefaultRoute(`${head}eth9\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\nwan\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\nppp0\t00000000\t00000000\t0001\t0\t0\t50\t00000000\t0\t0\t0\n`), 'ppp0');
  t.equal(parseDefaultRoute(`${head}eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n`), undefined, 'a route that is not up is not taken');
  t.equal(parseDefaultRoute(''), undefined);
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => { const r = parseDefaultRoute(s); return r === undefined || typeof r === 'string'; }));
});

t.test('diffWan: a change is reported with what came and went; nothing moved is nothing', async (t) => {
  const a = { interface: 'eth0', ipv4: ['198.51.100.7'], ipv6: [] };
  t.equal(diffWan(a, { ...a }), undefined);
  t.same(diffWan(a, { interface: 'eth0', ipv4: ['198.51.100.9'], ipv6: [] }), { interface: 'eth0', previousPrimary: '198.51.100.7', primary: '198.51.100.9', added: ['198.51.100.9'], removed: ['198.51.100.7'], interfaceChanged: false });
  t.same(diffWan({ interface: 'eth0', ipv4: [], ipv6: [] }, a)?.primary, '198.51.100.7', 'DHCP lease arriving');
  t.same(diffWan(a, { interface: 'eth0', ipv4: [], ipv6: [] })?.primary, undefined, 'lease lost');
  t.equal(diffWan(a, { interface: 'ppp0', ipv4: ['198.51.100.7'], ipv6: [] })?.interfaceChanged, true);
  const addr = fc.ipV4();
  fc.assert(fc.property(fc.array(addr, { maxLength: 4 }), fc.array(addr, { maxLength: 4 }), (x, y) => {
    const d = diffWan({ interface: 'e', ipv4: x, ipv6: [] }, { interface: 'e', ipv4: y, ipv6: [] });
    const sameSet = x.every((v) => y.includes(v)) && y.every((v) => x.includes(v));
    return (d === undefined) === (sameSet && x[0] === y[0]);
  }));
});

t.test('the watcher reports each change once; a failing reader is counted, not fatal', async (t) => {
  let now = { interface: 'eth0', ipv4: ['198.51.100.7'], ipv6: [] as string[] };
  let fail = false;
  const seen: string[] = [];
  const { sink } = memorySink();
  const w = new WanWatcher({ read: () => { if (fail) throw new Error('boom'); return now; }, onChange: (c) => seen.push(`${c.previousPrimary}->${c.primary}`), logger: createLogger({ sink }) });
  t.equal(w.poll(), undefined);
  now = { interface: 'eth0', ipv4: ['198.51.100.9'], ipv6: [] };
  t.ok(w.poll());
  t.equal(w.poll(), undefined);
  fail = true;
  t.equal(w.poll(), undefined);
  t.same(seen, ['198.51.100.7->198.51.100.9']);
  t.same(w.counters(), { wanChanges: 1, wanWatchErrors: 1 });
});

t.test('board selection: explicit names and files, generic-<arch> by default (which drives no hardware)', async (t) => {
  t.same(selectBoard(undefined, 'x64'), { board: selectBoard('generic-x64').board, explicit: false });
  t.equal(selectBoard(undefined, 'arm64').board.name, 'generic-arm64');
  t.equal(selectBoard(undefined, 'arm').board.name, 'generic-armv7');
  t.same(selectBoard('board/nanopi-r5s.json'), { board: nanopi, explicit: true });
  t.equal(selectBoard('generic-arm64').explicit, true);
  t.throws(() => selectBoard('no-such-board'), /unknown board/);
});
