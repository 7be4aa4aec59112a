// The kernel back end's netlink requests, byte for byte against iproute2's for the same operations
// (fixtures captured with strace on this machine kind; see the fixture's `command` fields).
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import type { SaSpec } from '../../../firmware/dataplane/types.ts';
import {
  allocateSpiMessage, deletePolicyMessage, deleteSaMessage, newPolicyMessage, newSaMessage,
} from '../../../firmware/dataplane/xfrm/messages.ts';
import { XfrmMsg } from '../../../firmware/dataplane/xfrm/constants.ts';
import { Secret } from '../../../firmware/util/secret.ts';

interface Fixture { command: string; length: number; type: string; flags: string; body: string }
const fixtures = (JSON.parse(readFileSync(new URL('./fixtures/xfrm-iproute2.json', import.meta.url), 'utf8')) as { messages: Record<string, Fixture> }).messages;
const fixture = (name: string): Fixture => fixtures[name] as Fixture;
const key = (hex: string) => new Secret(Buffer.from(hex, 'hex'));

const TYPES: Record<string, number> = {
  XFRM_MSG_NEWSA: XfrmMsg.newSa, XFRM_MSG_DELSA: XfrmMsg.delSa, XFRM_MSG_NEWPOLICY: XfrmMsg.newPolicy,
  XFRM_MSG_DELPOLICY: XfrmMsg.delPolicy, XFRM_MSG_ALLOCSPI: XfrmMsg.allocSpi,
};

function matches(t: Test, message: Buffer, f: Fixture): void {
  t.equal(message.readUInt32LE(0), f.length, 'nlmsg_len');
  t.equal(message.readUInt16LE(4), TYPES[f.type], 'nlmsg_type');
  t.equal(message.readUInt16LE(6), f.flags.includes('NLM_F_ACK') ? 5 : 1, 'nlmsg_flags');
  t.equal(message.subarray(16).toString('hex'), f.body, `body of: ${f.command}`);
}

const baseSa = { direction: 'in', esn: false, lifetime: {} } as const;

t.test('NEWSA, AES-GCM tunnel mode', async (t) => {
  const spec: SaSpec = {
    ...baseSa, spi: 0x1000, source: '192.0.2.1', destination: '192.0.2.2', mode: 'tunnel', reqid: 7, replayWindow: 32,
    suite: 'aes-gcm-128', keys: { encryption: key('0102030405060708090a0b0c0d0e0f1011121314') },
  };
  matches(t, newSaMessage(spec, 1), fixture('sa-gcm'));
});

t.test('NEWSA, AES-CBC + HMAC-SHA1-96 transport mode in UDP 4500', async (t) => {
  const spec: SaSpec = {
    ...baseSa, spi: 0xc0ffee01, source: '192.0.2.1', destination: '192.0.2.2', mode: 'transport', reqid: 9, replayWindow: 0,
    suite: 'aes-cbc-256-hmac-sha1-96',
    keys: { encryption: key('000102030405060708090a0b0c0d0e0f1f1e1d1c1b1a19181716151413121110'), integrity: key('0102030405060708090a0b0c0d0e0f1011121314') },
    encapsulation: { sourcePort: 4500, destinationPort: 4500 },
  };
  matches(t, newSaMessage(spec, 1), fixture('sa-cbc-encap'));
});

t.test('NEWSA, 3DES-CBC (des3_ede) + HMAC-SHA2-384-192 tunnel mode', async (t) => {
  const spec: SaSpec = {
    ...baseSa, spi: 0xc0ffee03, source: '192.0.2.1', destination: '192.0.2.2', mode: 'tunnel', reqid: 9, replayWindow: 0,
    suite: '3des-cbc-hmac-sha384-192',
    keys: { encryption: key('0123456789abcdeffedcba9876543210f0e1d2c3b4a59687'), integrity: key('00112233445566778899aabbccddeeff0011223344556677'.repeat(2)) },
  };
  matches(t, newSaMessage(spec, 1), fixture('sa-3des-sha384'));
  t.throws(() => newSaMessage({ ...spec, keys: { ...spec.keys, encryption: key('00'.repeat(16)) } }, 1), { code: 'POSTERN_ERR_DATAPLANE_INVALID' }, 'two-key 3DES refused');
});

t.test('NEWSA, transport mode in UDP 4500 behind a NAT: encap_oa carries the peer\'s original address', async (t) => {
  const spec: SaSpec = {
    ...baseSa, spi: 0xc0ffee02, source: '192.0.2.1', destination: '192.0.2.2', mode: 'transport', reqid: 9, replayWindow: 0,
    suite: '3des-cbc-hmac-sha1-96',
    keys: { encryption: key('0123456789abcdeffedcba9876543210f0e1d2c3b4a59687'), integrity: key('0102030405060708090a0b0c0d0e0f1011121314') },
    encapsulation: { sourcePort: 4500, destinationPort: 4500, originalAddress: '198.51.100.7' },
  };
  const message = newSaMessage(spec, 1);
  matches(t, message, fixture('sa-3des-encap-oa'));
  // XFRMA_ENCAP (type 4, 28 bytes) is the last attribute: encap_type, sport, dport, pad, then encap_oa.
  const encap = message.subarray(message.length - 24);
  t.same([encap.readUInt16LE(0), encap.readUInt16BE(2), encap.readUInt16BE(4), [...encap.subarray(8, 12)].join('.')], [2, 4500, 4500, '198.51.100.7']);
  t.equal(message.readUInt16LE(message.length - 26), 4, 'XFRMA_ENCAP');
});

t.test('NEWSA, ChaCha20-Poly1305 over IPv6 with ESN, a 1024 window and lifetimes', async (t) => {
  const spec: SaSpec = {
    ...baseSa, spi: 0x2000, source: '2001:db8::1', destination: '2001:db8::2', mode: 'tunnel', reqid: 3, replayWindow: 1024, esn: true,
    suite: 'chacha20-poly1305', keys: { encryption: key('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223') },
    lifetime: { softBytes: 1_000_000n, hardBytes: 2_000_000n, softPackets: 100n, hardPackets: 200n },
  };
  matches(t, newSaMessage(spec, 1), fixture('sa-esn-v6'));
});

t.test('DELSA, NEWPOLICY, DELPOLICY, ALLOCSPI', async (t) => {
  matches(t, deleteSaMessage({ spi: 0x1000, destination: '192.0.2.2' }, 1, '192.0.2.1'), fixture('sa-del'));
  const policy = { source: { prefix: '10.1.0.0/16' }, destination: { prefix: '10.2.0.0/16' }, direction: 'out' } as const;
  matches(t, newPolicyMessage({ ...policy, action: 'protect', priority: 100, template: { source: '192.0.2.1', destination: '192.0.2.2', mode: 'tunnel', reqid: 7 } }, 1), fixture('pol-out'));
  matches(t, deletePolicyMessage(policy, 1), fixture('pol-del'));
  matches(t, allocateSpiMessage('192.0.2.1', '192.0.2.2', 1, 0x100, 0xffff), fixture('spi'));
});

t.test('IPv6 outer addresses (issue 24): ESP in UDP 4500 over IPv6, DELSA, a policy for IPv4 traffic with an IPv6 template, ALLOCSPI', async (t) => {
  const spec: SaSpec = {
    ...baseSa, spi: 0x3000, source: '2001:db8::1', destination: '2001:db8::2', mode: 'tunnel', reqid: 11, replayWindow: 32,
    suite: 'aes-gcm-128', keys: { encryption: key('0102030405060708090a0b0c0d0e0f1011121314') }, encapsulation: { sourcePort: 4500, destinationPort: 4500 },
  };
  matches(t, newSaMessage(spec, 1), fixture('sa-gcm-encap-v6'));
  matches(t, deleteSaMessage({ spi: 0x3000, destination: '2001:db8::2' }, 1, '2001:db8::1'), fixture('sa-del-v6'));
  const policy = { source: { prefix: '10.1.0.0/16' }, destination: { prefix: '10.2.0.0/16' }, direction: 'out' } as const;
  matches(t, newPolicyMessage({ ...policy, action: 'protect', priority: 100, template: { source: '2001:db8::1', destination: '2001:db8::2', mode: 'tunnel', reqid: 7 } }, 1), fixture('pol-out-v6-outer'));
  matches(t, allocateSpiMessage('2001:db8::1', '2001:db8::2', 1, 0x100, 0xffff), fixture('spi-v6'));
});

t.test('wrong key lengths and bad addresses are refused with a typed error', async (t) => {
  const spec: SaSpec = {
    ...baseSa, spi: 1, source: '192.0.2.1', destination: '192.0.2.2', mode: 'tunnel', reqid: 1, replayWindow: 32,
    suite: 'aes-gcm-256', keys: { encryption: key('00'.repeat(20)) },
  };
  t.throws(() => newSaMessage(spec, 1), { code: 'POSTERN_ERR_DATAPLANE_INVALID' });
  t.throws(() => newSaMessage({ ...spec, keys: { encryption: key('00'.repeat(36)) }, destination: 'nope' }, 1), { code: 'POSTERN_ERR_DATAPLANE_INVALID' });
  t.throws(() => newSaMessage({ ...spec, suite: 'aes-cbc-128-hmac-sha256-128', keys: { encryption: key('00'.repeat(16)) } }, 1), { code: 'POSTERN_ERR_DATAPLANE_INVALID' });
  t.throws(() => deletePolicyMessage({ source: { prefix: '10.0.0.0/8' }, destination: { prefix: '2001:db8::/32' }, direction: 'in' }, 1), /mixes/);
});
