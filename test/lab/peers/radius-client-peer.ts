// Postern's RADIUS client (firmware/radius) in a lab host, driven over stdin/stdout (LinePeer):
// `{"call":"pap","args":[user, password]}`, `password` (PAP or CHAP-MD5 through the password verifier), `mschapv2` (a computed MS-CHAP2-Response), `account`
// (an accounting record), `burst` (many MS-CHAPv2 logins at once), `counters`. Answers `ok <json>` with what the server said; MPPE keys come
// back in hex so the test can check them against its own derivation.
import { createInterface } from 'node:readline';
import { radiusMschapv2Verifier } from '../../../firmware/auth/mschapv2-verifier.ts';
import { radiusPasswordVerifier } from '../../../firmware/auth/password-verifier.ts';
import { chapMd5Response } from '../../../firmware/crypto/chap-md5.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { accountingAttributes, type AccountingRecord } from '../../../firmware/radius/accounting.ts';
import { Attr, ipv4Of, textAttr } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import { RadiusClient } from '../../../firmware/radius/radius-client.ts';
import { Secret } from '../../../firmware/util/secret.ts';

interface Config {
  readonly servers: ReadonlyArray<{ name: string; address: string; secret: string }>;
  readonly initialTimeoutMs: number;
  readonly maxRetransmits: number;
  readonly statusServerIntervalMs: number;
}
const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const events: string[] = [];
const client = await RadiusClient.open({
  servers: config.servers.map((s) => ({ name: s.name, address: s.address, authPort: 1812, acctPort: 1813, secret: new Secret(Buffer.from(s.secret)) })),
  initialTimeoutMs: config.initialTimeoutMs,
  maxRetransmits: config.maxRetransmits,
  statusServerIntervalMs: config.statusServerIntervalMs,
  onServerState: (server, up, why) => events.push(`${server} ${up ? 'up' : 'down'}: ${why}`),
  log: createLogger({ sink: (r) => process.stdout.write(`log ${JSON.stringify(r)}\n`) }),
});
const nas = [textAttr(Attr.NasIdentifier, 'postern-lab')];
const hex = (s: string) => Buffer.from(s, 'hex');
const summary = (r: RadiusResult) => (r.outcome === 'timeout' || r.outcome === 'overloaded' ? { outcome: r.outcome } : { outcome: r.outcome, server: r.server, framedIp: ipv4Of(r.packet.attributes, Attr.FramedIpAddress) });

const calls: Record<string, (a: any[]) => Promise<unknown> | unknown> = {
  pap: async ([user, password]) => summary(await client.authenticate([textAttr(Attr.UserName, user), ...nas], new Secret(Buffer.from(password)))),
  // Through the auth layer's verifier, as a PPP authenticator would use it.
  mschapv2: async ([user, authenticatorChallenge, peerChallenge, ntResponse, ident]) => {
    const v = await radiusMschapv2Verifier(client, nas).verify({ userName: user, authenticatorChallenge: hex(authenticatorChallenge), peerChallenge: hex(peerChallenge), ntResponse: hex(ntResponse), ident });
    return v.ok
      ? { outcome: 'accept', authenticatorResponse: v.authenticatorResponse, sendKey: Buffer.from(v.sendKey.reveal()).toString('hex'), recvKey: Buffer.from(v.recvKey.reveal()).toString('hex') }
      : { outcome: v.noServer ? 'timeout' : 'reject', reason: v.reason, error: v.error };
  },
  // PAP or CHAP-MD5 through the auth layer's password verifier (User-Password; CHAP-Password + CHAP-Challenge), as the PPP authenticators use it.
  password: async ([method, user, password]) => {
    const challenge = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const attempt = method === 'pap'
      ? { method: 'pap' as const, userName: user, password: new Secret(Uint8Array.from(Buffer.from(password))) }
      : { method: 'chap-md5' as const, userName: user, identifier: 0x2a, challenge, response: Uint8Array.from(chapMd5Response(0x2a, new Secret(String(password)), challenge)) };
    const v = await radiusPasswordVerifier(client, nas).verify(attempt);
    return v.ok ? { outcome: 'accept', framedIp: v.authorization?.framedIpAddress } : { outcome: v.noServer ? 'timeout' : 'reject', reason: v.reason };
  },
  account: async ([record]) => summary(await client.account(accountingAttributes({ ...(record as AccountingRecord), nas: { identifier: 'postern-lab' }, inputOctets: BigInt(record.inputOctets ?? 0), outputOctets: BigInt(record.outputOctets ?? 0) }))),
  // `count` MS-CHAPv2 logins at once (issue 21's 200 with a server dead): outcomes by server, and how long they took.
  burst: async ([count, user, password]) => {
    const { generateNtResponse } = await import('../../../firmware/crypto/mschapv2.ts');
    const { randomBytes } = await import('node:crypto');
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: count as number }, async () => {
      const authenticatorChallenge = randomBytes(16);
      const peerChallenge = randomBytes(16);
      const attempt = { userName: user, authenticatorChallenge, peerChallenge, ntResponse: generateNtResponse(authenticatorChallenge, peerChallenge, user, password), ident: 1 };
      const v = await radiusMschapv2Verifier(client, nas).verify(attempt);
      return v.ok ? 'accept' : v.noServer ? 'timeout' : 'reject';
    }));
    const tally: Record<string, number> = {};
    for (const r of results) tally[r] = (tally[r] ?? 0) + 1;
    return { tally, ms: Math.round(performance.now() - started) };
  },
  counters: () => ({ counters: client.counters(), events }),
};

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  // Answers leave in the order the calls came, each after its own request completes.
  queue = queue.then(async () => {
    try {
      const { call, args = [] } = JSON.parse(line) as { call: string; args?: unknown[] };
      const fn = calls[call];
      if (!fn) throw new Error(`unknown call ${call}`);
      process.stdout.write(`ok ${JSON.stringify((await fn(args)) ?? null)}\n`);
    } catch (error) {
      process.stdout.write(`error ${error instanceof Error ? error.message : String(error)}\n`);
    }
  });
}).on('close', () => client.close());
process.stdout.write('ready\n');
