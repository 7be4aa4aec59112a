import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { followWanChange, type WanFollowers } from '../../../firmware/network/wan-follow.ts';
import { diffWan } from '../../../firmware/network/wan-watch.ts';
import { Supervisor } from '../../../firmware/supervisor/supervisor.ts';
import type { Subsystem } from '../../../firmware/supervisor/subsystem.ts';

const wan = (...ipv4: string[]) => ({ interface: 'wan', ipv4, ipv6: [] as string[] });

function followers(bound: { ike?: string; sstp?: string }, running: string[]) {
  const did: string[] = [];
  const f: WanFollowers = {
    logger: createLogger({ sink: memorySink().sink }),
    restart: async (name) => (did.push(`restart ${name}`), true),
    ikeBound: () => bound.ike,
    sstpBound: () => bound.sstp,
    running: (name) => running.includes(name),
    event: (type, details) => void did.push(`${type} ${String(details['previous'])}->${String(details['address'])}`),
    reconnectTelemetry: () => void did.push('mqtt reconnect'),
  };
  return { f, did };
}

t.test('a new lease: event first, then IKE and SSTP rebound, SSTP sites redialed, MQTT reconnected', async (t) => {
  const { f, did } = followers({ ike: '198.51.100.7', sstp: '198.51.100.7' }, ['ikev2', 'sstp', 'sstp-sites']);
  const restarted = await followWanChange(f, diffWan(wan('198.51.100.7'), wan('198.51.100.9'))!, wan('198.51.100.9'));
  t.same(did, ['wan-address-changed 198.51.100.7->198.51.100.9', 'restart ikev2', 'restart sstp', 'restart sstp-sites', 'mqtt reconnect']);
  t.same(restarted, ['ikev2', 'sstp', 'sstp-sites']);
});

t.test('GRE sites (issue 25) start again from the new address; waiting for the first one, they start', async (t) => {
  const moved = followers({ ike: '198.51.100.7' }, ['ikev2', 'gre-sites']);
  t.same(await followWanChange(moved.f, diffWan(wan('198.51.100.7'), wan('198.51.100.9'))!, wan('198.51.100.9')), ['ikev2', 'gre-sites']);
  const first = followers({}, ['gre-sites']);
  t.same(await followWanChange(first.f, diffWan(wan(), wan('203.0.113.4'))!, wan('203.0.113.4')), ['gre-sites']);
});

t.test('L2TP and PPTP listeners and their sites (issues 20, 22) start again on the new address', async (t) => {
  const { f } = followers({ ike: '198.51.100.7' }, ['ikev2', 'l2tp', 'l2tp-sites', 'pptp', 'pptp-sites']);
  t.same(await followWanChange(f, diffWan(wan('198.51.100.7'), wan('198.51.100.9'))!, wan('198.51.100.9')), ['ikev2', 'l2tp', 'l2tp-sites', 'pptp', 'pptp-sites']);
  const extra = followers({ ike: '198.51.100.7' }, ['ikev2', 'l2tp', 'pptp']);
  t.same(await followWanChange(extra.f, diffWan(wan('198.51.100.7'), wan('198.51.100.7', '198.51.100.8'))!, wan('198.51.100.7', '198.51.100.8')), [], 'not for an extra address');
});

t.test('an extra address that leaves the bound one alone restarts nothing', async (t) => {
  const { f, did } = followers({ ike: '198.51.100.7', sstp: '198.51.100.7' }, ['ikev2', 'sstp', 'sstp-sites']);
  await followWanChange(f, diffWan(wan('198.51.100.7'), wan('198.51.100.7', '198.51.100.8'))!, wan('198.51.100.7', '198.51.100.8'));
  t.same(did, ['wan-address-changed 198.51.100.7->198.51.100.7']);
});

t.test('DHCP done at last: IKE (waiting) starts, SSTP on all addresses is left alone; stopped subsystems too', async (t) => {
  const { f, did } = followers({ sstp: '0.0.0.0' }, ['ikev2', 'sstp']);
  await followWanChange(f, diffWan(wan(), wan('203.0.113.4'))!, wan('203.0.113.4'));
  t.same(did, ['wan-address-changed null->203.0.113.4', 'restart ikev2', 'mqtt reconnect']);
});

t.test('the lease lost: SSTP bound to the old address falls back to all addresses', async (t) => {
  const { f, did } = followers({ ike: '203.0.113.4', sstp: '203.0.113.4' }, ['ikev2', 'sstp']);
  await followWanChange(f, diffWan(wan('203.0.113.4'), wan())!, wan());
  t.same(did, ['wan-address-changed 203.0.113.4->null', 'restart ikev2', 'restart sstp', 'mqtt reconnect']);
});

t.test('Supervisor.restart stops and starts one running subsystem on the configuration it runs', async (t) => {
  const journal: string[] = [];
  const make = (name: string): Subsystem => ({
    name,
    start: async (c) => void journal.push(`start ${name} ${c.system.hostname}`),
    reconfigure: async () => undefined,
    stop: async () => void journal.push(`stop ${name}`),
    status: () => ({ state: 'running' }),
  });
  const supervisor = new Supervisor([
    { name: 'web', wanted: () => true, slice: () => 1, create: () => make('web') },
    { name: 'ikev2', wanted: () => true, slice: () => 1, create: () => make('ikev2') },
    { name: 'sstp', wanted: () => false, slice: () => 1, create: () => make('sstp') },
  ], createLogger({ sink: memorySink().sink }));
  const config = defaultConfig();
  config.system.hostname = 'branch-7';
  await supervisor.start(config);
  journal.length = 0;
  t.equal(await supervisor.restart('ikev2', 'WAN address changed'), true);
  t.same(journal, ['stop ikev2', 'start ikev2 branch-7']);
  t.equal(await supervisor.restart('sstp', 'WAN address changed'), false, 'not running: nothing to restart');
  t.equal(await supervisor.restart('nope', 'x'), false);
});

t.test('IPv6 on the WAN (issue 24): a new IPv6 address rebinds IKE beside IPv4; an unchanged one does not', async (t) => {
  const both = (ipv4: string[], ipv6: string[]) => ({ interface: 'wan', ipv4, ipv6 });
  const follow = (bound: { ipv4?: string; ipv6?: string }) => {
    const { f, did } = followers({ ...(bound.ipv4 ? { ike: bound.ipv4 } : {}) }, ['ikev2']);
    return { f: { ...f, ikeBoundBoth: () => bound }, did };
  };
  const moved = diffWan(both(['198.51.100.7'], ['2001:db8::7']), both(['198.51.100.7'], ['2001:db8::9']))!;
  t.match(moved, { primary: '198.51.100.7', previousPrimary6: '2001:db8::7', primary6: '2001:db8::9' }, 'the IPv6 primary is followed');
  t.same(await followWanChange(follow({ ipv4: '198.51.100.7', ipv6: '2001:db8::7' }).f, moved, both(['198.51.100.7'], ['2001:db8::9'])), ['ikev2'], 'IKE rebinds to the new IPv6 address');
  const arrived = diffWan(both([], []), both([], ['2001:db8::1']))!;
  t.same(await followWanChange(follow({}).f, arrived, both([], ['2001:db8::1'])), ['ikev2'], 'an IPv6-only WAN getting its address starts IKE on it');
  const extra = diffWan(both(['198.51.100.7'], ['2001:db8::7']), both(['198.51.100.7'], ['2001:db8::7', '2001:db8::8']))!;
  t.same(await followWanChange(follow({ ipv4: '198.51.100.7', ipv6: '2001:db8::7' }).f, extra, both(['198.51.100.7'], ['2001:db8::7', '2001:db8::8'])), [], 'a second IPv6 address (a privacy address) changes nothing bound');
  const sstp = followers({ sstp: '198.51.100.7' }, ['sstp']);
  t.same(await followWanChange({ ...sstp.f, sstpBound6: () => '2001:db8::7' }, moved, both(['198.51.100.7'], ['2001:db8::9'])), ['sstp'], 'SSTP listens on the new IPv6 address too');
  t.same(await followWanChange({ ...sstp.f, sstpBound6: () => '2001:db8::7' }, extra, both(['198.51.100.7'], ['2001:db8::7', '2001:db8::8'])), [], 'and stays for a second one');
});
