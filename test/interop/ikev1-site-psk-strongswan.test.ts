// IKEv1 interop (issue 19, first slice): Postern's IKEv1 engine on UDP sockets against a real
// strongSwan speaking IKEv1 (swanctl `version = 1`), PSK, tunnel mode, in lab namespaces. Main Mode
// and Quick Mode complete with both sides agreeing on the ESP SPIs, and Postern's SKEYID,
// SKEYID_d/a/e and encryption key equal the ones charon dumps at log level 4; with the driver the
// children carry LAN-to-LAN traffic.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { SITE_PSK, swanSecrets, swanSite } from '../lab/ike-sites.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { swanctlConf } from '../lab/peers/strongswan-config.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

// Eight lab set-ups of 10-20 s each: more than tap's two minutes on a loaded machine.
t.setTimeout(300_000);

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

const A = '192.0.2.1'; // strongSwan (gwA)
const B = '192.0.2.2'; // Postern (gwB)

// charon's level-4 IKE log dumps the phase 1 keys; set before its strongswan.conf is written.
process.env['POSTERN_LAB_IKE_LOG'] = '4';

function posternConnection(over: Partial<Ikev1PeerConfig['connections'][number]> = {}): Ikev1PeerConfig['connections'][number] {
  return {
    name: 'to-a', localId: 'gw-b.example', remoteId: 'gw-a.example', remoteAddress: A, psk: SITE_PSK,
    ike: ['aes256-sha256-modp2048', 'aes128-sha1-modp2048', '3des-sha1-modp1024'], esp: ['aes256-sha1', 'aes128-sha256', 'aes128gcm16'],
    localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 30, ...over,
  };
}

async function setUp(t: Test, proposals: string[], esp: string[], psk = SITE_PSK, over: Partial<Ikev1PeerConfig['connections'][number]> = {}, dataplane?: Ikev1PeerConfig['dataplane']): Promise<{ gwA: StrongSwan; gwB: LinePeer; lab: Lab }> {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const swan = { ...swanSite({ local: A, remote: B, proposals, esp }), version: 1 as const };
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', { connections: { site: swan }, secrets: swanSecrets(psk) }),
    LinePeer.spawn(lab, 'gwB', 'postern-ikev1-gwB', 'postern-ikev1-peer.ts', { address: B, connections: [posternConnection(over)], ...(dataplane ? { dataplane } : {}) } satisfies Ikev1PeerConfig).then((r) => r.peer),
  ]);
  return { gwA, gwB, lab };
}

/** The child SAs' SPIs as strongSwan reports them (`swanctl --list-sas --raw`: spi-in=…, spi-out=…). */
async function swanSpis(gwA: StrongSwan): Promise<{ in: number; out: number } | undefined> {
  const raw = (await gwA.swanctl(['--list-sas', '--raw'])).stdout;
  const spiIn = /spi-in=([0-9a-f]+)/.exec(raw)?.[1];
  const spiOut = /spi-out=([0-9a-f]+)/.exec(raw)?.[1];
  return spiIn && spiOut ? { in: parseInt(spiIn, 16), out: parseInt(spiOut, 16) } : undefined;
}

/** A `NAME => N bytes @ …` chunk dump from charon's log (IKE or CHD), as hex, or undefined. */
function charonDump(log: string, name: string): string | undefined {
  const lines = log.split('\n');
  const at = lines.findIndex((l) => new RegExp(`\\[(IKE|CHD)\\] ${name} => \\d+ bytes`).test(l));
  if (at < 0) return undefined;
  const bytes = Number(/=> (\d+) bytes/.exec(lines[at]!)?.[1]);
  let hex = '';
  for (const line of lines.slice(at + 1)) {
    const m = /\[(?:IKE|CHD)\]\s+\d+: ((?:[0-9A-F]{2} ){1,16})/.exec(line);
    if (!m) break;
    hex += m[1]!.replace(/ /g, '').toLowerCase();
  }
  return hex.slice(0, bytes * 2);
}

const isChild = (e: Record<string, unknown>) => e['type'] === 'install-child';

t.test('strongSwan initiates IKEv1, Postern responds: Main Mode + Quick Mode, SPIs, keys and hashes agree', { skip }, async (t) => {
  // AES-256/SHA-256 (no key expansion), 3DES/SHA-1 (Appendix B expansion: 24 bytes from a 20-byte
  // SKEYID_e), and ECP-256 in phase 1 and as the Quick Mode PFS group.
  for (const [proposal, esp, suite] of [
    ['aes256-sha256-modp2048', 'aes256-sha1', 'aes-cbc-256-hmac-sha1-96'],
    ['3des-sha1-modp1024', 'aes128-sha256', 'aes-cbc-128-hmac-sha256-128'],
    ['aes128-sha256-ecp256', 'aes128gcm16-ecp256', 'aes-gcm-128'],
  ] as const) {
    const { gwA, gwB } = await setUp(t, [proposal], [esp], SITE_PSK, { ike: [...posternConnection().ike, 'aes128-sha256-ecp256'], esp: [...posternConnection().esp, 'aes128gcm16-ecp256'] });
    const r = await gwA.initiate('net');
    if (r.code !== 0) t.fail(`${proposal}: strongSwan could not initiate:\n${r.stdout}\n${gwA.log(60)}`);
    const up = await gwB.waitEvent((e) => e['type'] === 'ike-up');
    t.equal(up['remoteId'], 'gw-a.example', 'Postern authenticated strongSwan by its FQDN ID');
    const child = await gwB.waitEvent(isChild);
    t.equal(child['suite'], suite, `child SA ${suite}`);
    t.same([child['localTs'], child['remoteTs']], [['10.2.0.0/24'], ['10.1.0.0/24']]);
    // charon with kernel-libipsec fakes a NAT (its log: "faking NAT situation to enforce UDP
    // encapsulation"); Postern reads that from NAT-D and both move to UDP 4500.
    t.same(child['encapsulation'], { localPort: 4500, remotePort: 4500 }, 'NAT-D as strongSwan sent it: UDP-encapsulated ESP');
    await waitUntil('strongSwan installs the child', 5000, async () => (await gwA.listSas()).some((s) => s.state === 'ESTABLISHED' && s.children[0]?.state === 'INSTALLED'));
    const spis = await swanSpis(gwA);
    t.same(spis, { in: child['outSpi'], out: child['inSpi'] }, 'strongSwan\'s inbound SPI is Postern\'s outbound and the reverse');
    const keys = JSON.parse((await gwB.command('keys')).replace(/^keys /, '')) as Record<string, string>;
    const log = readFileSync(`${gwA.dir}/charon.log`, 'utf8');
    // charon is the initiator: its "initiator" child keys protect what it sends, Postern's inbound.
    for (const [ours, theirs] of [
      ['skeyid', 'SKEYID'], ['skeyidD', 'SKEYID_d'], ['skeyidA', 'SKEYID_a'], ['skeyidE', 'SKEYID_e'], ['encryptionKey', 'encryption key Ka'],
      ['hashI', 'HASH_I'], ['hashR', 'HASH_R'],
      ['inEncryption', 'encryption initiator key'], ['outEncryption', 'encryption responder key'],
      ...(suite === 'aes-gcm-128' ? [] : [['inIntegrity', 'integrity initiator key'], ['outIntegrity', 'integrity responder key']] as const),
    ] as const) {
      const dumped = charonDump(log, theirs);
      t.ok(dumped, `charon dumped ${theirs}`);
      t.equal(keys[ours], dumped, `${proposal} / ${esp}: ${theirs} as strongSwan derived it`);
    }
    if (suite === 'aes-gcm-128') t.ok(/ECP_256/.test(log), 'charon negotiated ECP_256');
    // Postern's own log (its log records, not the `keys` answer above) holds none of it.
    const records = readFileSync(gwB.daemon.logFile, 'utf8').split('\n').filter((l) => l.startsWith('log ')).join('\n');
    const secrets = [SITE_PSK, ...Object.entries(keys).filter(([k]) => k !== 'ni' && k !== 'nr' && k !== 'hashI' && k !== 'hashR').map(([, v]) => v)].filter((v) => v.length > 0);
    t.equal(secrets.filter((s) => records.includes(s)).length, 0, `none of the ${secrets.length} secrets (the PSK, phase 1 and child keys) in Postern's ${records.split('\n').length} log lines`);
  }
});

t.test('Postern initiates IKEv1 to strongSwan: both install the child with the same SPIs', { skip }, async (t) => {
  const { gwA, gwB } = await setUp(t, ['aes128-sha1-modp2048'], ['aes128gcm16']);
  t.equal(await gwB.command('initiate to-a'), 'ok');
  const child = await gwB.waitEvent(isChild).catch((e: Error) => {
    throw new Error(`${e.message}\n--- Postern:\n${readFileSync(gwB.daemon.logFile, 'utf8').split('\n').slice(-30).join('\n')}\n--- charon:\n${gwA.log(80)}`);
  });
  t.equal(child['suite'], 'aes-gcm-128');
  t.same(child['encapsulation'], { localPort: 4500, remotePort: 4500 }, 'Postern floated to 4500 on strongSwan\'s NAT-D');
  await waitUntil('strongSwan installs the child', 5000, async () => (await gwA.listSas()).some((s) => s.state === 'ESTABLISHED' && s.children[0]?.state === 'INSTALLED'));
  t.same(await swanSpis(gwA), { in: child['outSpi'], out: child['inSpi'] });
  t.equal(await gwB.command('terminate'), 'ok');
  const ikeLines = () => gwA.log(400).split('\n').filter((l) => /\[(IKE|ENC|NET)\]/.test(l) && !/ +[0-9]+: /.test(l)).slice(-12).join('\n');
  await waitUntil('strongSwan deletes the SA', 5000, async () => (await gwA.listSas()).length === 0, ikeLines);
  t.pass('the deletes reached strongSwan');
});

t.test('Postern rekeys the child by lifetime under traffic: strongSwan takes the new SPIs and drops the old, no ping lost', { skip }, async (t) => {
  const { gwA, gwB, lab } = await setUp(t, ['aes128-sha1-modp2048'], ['aes256-sha1'], SITE_PSK, { rekeySeconds: 3 }, { tunnelAddress: '10.2.0.1' });
  t.equal(await gwB.command('initiate to-a'), 'ok');
  const first = await gwB.waitEvent(isChild).catch((e: Error) => {
    throw new Error(`${e.message}\n${gwA.log(400).split('\n').filter((l) => /\[(IKE|ENC|CFG)\]/.test(l) && !/ +[0-9]+: /.test(l)).slice(-15).join('\n')}`);
  });
  await waitUntil('strongSwan installs the child', 5000, async () => (await gwA.listSas()).some((s) => s.children.some((c) => c.state === 'INSTALLED')));
  // 300 pings 20 ms apart (6 s) from lanA through the child Postern rekeys at 3 s.
  const pings = lab.exec('lanA', ['ping', '-c', '300', '-i', '0.02', '-W', '1', '10.2.0.10'], 30_000);
  const rekey = await gwB.waitEvent((e) => e['type'] === 'rekey-child', 15_000);
  t.equal(rekey['oldInSpi'] ?? first['inSpi'], first['inSpi']);
  await waitUntil('strongSwan has only the new child', 5000, async () => {
    const spis = await swanSpis(gwA);
    return spis?.in === rekey['outSpi'] && (await gwA.listSas())[0]?.children.length === 1;
  }, () => gwA.log(400).split('\n').filter((l) => /CHILD_SA|DELETE|QUICK_MODE/.test(l)).slice(-12).join('\n'));
  t.pass('strongSwan installed the new child and deleted the old one');
  const result = await pings;
  const received = Number(/300 packets transmitted, (\d+) received/.exec(result.stdout)?.[1] ?? 0);
  t.equal(received, 300, `lanA → lanB across Postern's rekey, none lost:\n${result.stdout.split('\n').slice(-3).join('\n')}`);
});

t.test('strongSwan rekeys the child Postern answered: the new child beside the old, same SPIs', { skip }, async (t) => {
  const { gwA, gwB } = await setUp(t, ['aes256-sha256-modp2048'], ['aes256-sha1']);
  const r = await gwA.initiate('net');
  if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}`);
  const first = await gwB.waitEvent(isChild);
  t.equal((await gwA.swanctl(['--rekey', '--child', 'net'])).code, 0, 'swanctl --rekey');
  const rekey = await gwB.waitEvent((e) => e['type'] === 'rekey-child');
  t.equal(rekey['oldInSpi'], first['inSpi'], 'Postern took it as a rekey of the first child');
  // strongSwan keeps a rekeyed IKEv1 child until it expires (charon.delete_rekeyed = no); Postern
  // retires the old one itself after a grace period (unit-tested on the simulated clock).
  const raw = (await gwA.swanctl(['--list-sas', '--raw'])).stdout;
  const pairs = [...raw.matchAll(/spi-in=([0-9a-f]+) spi-out=([0-9a-f]+)/g)].map((m) => [parseInt(m[1]!, 16), parseInt(m[2]!, 16)]);
  t.ok(pairs.some(([i, o]) => i === rekey['outSpi'] && o === rekey['inSpi']), `strongSwan holds the new child with the same SPIs (${JSON.stringify(pairs)})`);
});

t.test('a wrong pre-shared key: Postern says the keys differ, nothing comes up', { skip }, async (t) => {
  const { gwA, gwB } = await setUp(t, ['aes128-sha1-modp2048'], ['aes128-sha1'], 'not-the-right-key-0123456789');
  const r = await gwA.initiate('net', 5);
  t.not(r.code, 0, 'strongSwan fails to initiate');
  const log = readFileSync(gwB.daemon.logFile, 'utf8');
  t.match(log, /pre-shared keys differ/, 'Postern logs why');
  t.equal(gwB.events.filter((e) => e['type'] === 'ike-up').length, 0);
});

t.test('LAN to LAN through IKEv1 children in the driver, both ways, and across strongSwan\'s child rekey; then a 3DES child', { skip }, async (t) => {
  const esp = ['aes256-sha1', 'aes128-sha256', 'aes128gcm16', '3des-sha1'];
  const { gwA, gwB, lab } = await setUp(t, ['aes256-sha256-modp2048'], ['aes128gcm16', 'aes256-sha1'], SITE_PSK, { esp }, { tunnelAddress: '10.2.0.1' });
  const before = await lab.exec('lanA', ['ping', '-c', '1', '-W', '1', '10.2.0.10']);
  t.not(before.code, 0, 'no path between the LANs before the tunnel');
  const r = await gwA.initiate('net');
  if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n${gwA.log(60)}`);
  const child = await gwB.waitEvent(isChild);
  t.equal(child['suite'], 'aes-gcm-128', 'AES-GCM-128 chosen');
  t.equal(gwB.events.filter((e) => e['type'] === 'dataplane-error').length, 0, 'the driver took the child');
  const pings = lab.exec('lanA', ['ping', '-c', '300', '-i', '0.02', '-W', '1', '10.2.0.10'], 30_000);
  await new Promise((done) => setTimeout(done, 700));
  t.equal((await gwA.swanctl(['--rekey', '--child', 'net'])).code, 0, 'strongSwan rekeys the child mid-ping');
  await gwB.waitEvent((e) => e['type'] === 'rekey-child');
  const result = await pings;
  // As Quick Mode responder Postern accepts the new inbound SA as QM2 goes out, so what strongSwan
  // sends on the new child right after QM2 arrives: not one ping lost across the rekey.
  const received = Number(/300 packets transmitted, (\d+) received/.exec(result.stdout)?.[1] ?? 0);
  t.equal(received, 300, `lanA → lanB through ESP across the rekey, none lost:\n${result.stdout.split('\n').slice(-3).join('\n')}`);
  const back = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(back.code, 0, `lanB → lanA:\n${back.stdout}`);
  const status = JSON.parse((await gwB.command('status')).replace(/^status /, '')) as { tunnels: Array<Record<string, number>> };
  const decrypted = status.tunnels.reduce((n, x) => n + (x['netRx'] ?? 0), 0);
  t.ok(decrypted >= 3, `Postern decrypted the pings in C (${decrypted} packets in the live tunnels)`);
  t.ok(status.tunnels.every((x) => (x['dropDecrypt'] ?? 0) === 0), 'and dropped none');
  const sas = await gwA.listSas();
  t.ok(sas[0]?.children.some((c) => c.state === 'INSTALLED' && c.packetsIn > 0), `strongSwan decrypted Postern's ESP: ${JSON.stringify(sas[0]?.children)}`);

  // 3DES (issue 19): strongSwan comes back proposing only 3des-sha1 ESP; Postern's C data plane carries it.
  t.equal((await gwA.swanctl(['--terminate', '--ike', 'site'])).code, 0, 'strongSwan ends the SA');
  await gwB.waitEvent((e) => e['type'] === 'ike-down');
  const conf = join(gwA.dir, 'swanctl', 'swanctl.conf');
  writeFileSync(conf, swanctlConf({ connections: { site: { ...swanSite({ local: A, remote: B, proposals: ['aes256-sha256-modp2048'], esp: ['3des-sha1'] }), version: 1 } }, secrets: swanSecrets(SITE_PSK) }), { mode: 0o600 });
  t.equal((await gwA.swanctl(['--load-conns', '--file', conf])).code, 0, 'strongSwan now proposes only 3des-sha1');
  const again = await gwA.initiate('net');
  if (again.code !== 0) t.fail(`strongSwan could not initiate with 3DES:\n${again.stdout}\n${gwA.log(60)}`);
  const des3 = await gwB.waitEvent((e) => isChild(e) && e['suite'] === '3des-cbc-hmac-sha1-96');
  t.ok(des3, 'Postern chose 3DES-CBC + HMAC-SHA1-96 and installed it');
  const few = await lab.exec('lanA', ['ping', '-c', '20', '-i', '0.05', '-W', '1', '10.2.0.10'], 10_000);
  t.match(few.stdout, /20 packets transmitted, 20 received/, 'lanA → lanB through 3DES ESP');
  t.equal((await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10'])).code, 0, 'lanB → lanA through 3DES ESP');
  const after = JSON.parse((await gwB.command('status')).replace(/^status /, '')) as { tunnels: Array<Record<string, number>> };
  t.ok(after.tunnels.reduce((n, x) => n + (x['netRx'] ?? 0), 0) >= 20 && after.tunnels.every((x) => (x['dropDecrypt'] ?? 0) === 0), `decrypted in C, none dropped: ${JSON.stringify(after.tunnels)}`);
});
