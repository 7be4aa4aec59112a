// Postern's IKEv2 codec against a real peer: strongSwan's IKE_SA_INIT request, captured in a lab
// namespace, decodes to what charon was configured to offer and re-encodes to the same bytes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { decodeIkeMessage, encodeIkeMessage } from '../../firmware/ike/message.ts';
import { DhId, EncrId, ExchangeType, IntegId, NotifyType, PrfId, TransformType } from '../../firmware/ike/registry/numbers.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

t.test('a strongSwan IKE_SA_INIT request decodes as configured and re-encodes byte for byte', { skip }, async (t) => {
  const lab = Lab.create({ hosts: { swan: {}, listener: {} }, links: { net0: { a: ['swan', '192.0.2.1/24'], b: ['listener', '192.0.2.2/24'] } } });
  t.teardown(() => lab.teardown());
  // A one-shot UDP 500 listener in the other namespace keeps the first datagram, written whole under
  // a temporary name and then renamed: the wait below saw the file between its creation and its write once.
  const capture = join(lab.dir, 'ike_sa_init.bin');
  const script = `const fs = require('fs'); require('dgram').createSocket('udp4').on('message', (m) => { fs.writeFileSync(${JSON.stringify(`${capture}.part`)}, m); fs.renameSync(${JSON.stringify(`${capture}.part`)}, ${JSON.stringify(capture)}); process.exit(0); }).bind(500, '192.0.2.2')`;
  lab.spawnDaemon('listener', 'udp500', [process.execPath, '-e', script]);
  await new Promise((r) => setTimeout(r, 300));
  const swan = await StrongSwan.start(lab, 'swan', {
    connections: {
      probe: {
        localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha256-modp2048', 'aes128gcm16-prfsha256-curve25519'],
        local: { auth: 'psk', id: 'swan' }, remote: { auth: 'psk', id: 'postern' },
        children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
      },
    },
    secrets: [{ kind: 'ike', ids: ['swan', 'postern'], secret: 'probe-secret-probe-secret' }],
  });
  void swan.initiate('net', 2); // nobody answers; the request is all we want
  await waitUntil('the IKE_SA_INIT capture', 5000, () => existsSync(capture));
  const bytes = new Uint8Array(readFileSync(capture));

  const decoded = decodeIkeMessage(bytes);
  if (!decoded.ok) return t.fail(JSON.stringify(decoded.error));
  const { header, payloads } = decoded.value;
  t.equal(header.exchangeType, ExchangeType.IKE_SA_INIT);
  t.ok(header.initiator && !header.response, 'initiator request');
  t.ok(header.initiatorSpi !== 0n && header.responderSpi === 0n && header.messageId === 0, 'SPIi set, SPIr zero, message ID 0');
  const sa = payloads.find((p) => p.kind === 'SA');
  const proposals = sa?.kind === 'SA' ? sa.proposals : [];
  t.equal(proposals.length, 2, 'two proposals, as configured');
  const ids = (i: number, type: number) => proposals[i]?.transforms.filter((x) => x.type === type).map((x) => [x.id, x.keyLength]);
  t.same(ids(0, TransformType.ENCR), [[EncrId.ENCR_AES_CBC, 256]]);
  t.same(ids(0, TransformType.INTEG), [[IntegId.AUTH_HMAC_SHA2_256_128, undefined]]);
  t.same(ids(0, TransformType.PRF), [[PrfId.PRF_HMAC_SHA2_256, undefined]]);
  t.same(ids(0, TransformType.DH), [[DhId.MODP_2048, undefined]]);
  t.same(ids(1, TransformType.ENCR), [[EncrId.ENCR_AES_GCM_16, 128]]);
  t.same(ids(1, TransformType.DH), [[DhId.CURVE25519, undefined]]);
  const ke = payloads.find((p) => p.kind === 'KE');
  t.same(ke?.kind === 'KE' && [ke.ke.group, ke.ke.data.length], [DhId.MODP_2048, 256], 'KE for the first proposal: 256 bytes of MODP-2048');
  t.ok(payloads.some((p) => p.kind === 'Nonce' && p.nonce.length >= 16), 'a nonce');
  const notifies = payloads.flatMap((p) => (p.kind === 'N' ? [p.notify.type] : []));
  for (const type of [NotifyType.NAT_DETECTION_SOURCE_IP, NotifyType.NAT_DETECTION_DESTINATION_IP, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED]) {
    t.ok(notifies.includes(type), `notify ${type}`);
  }
  const reencoded = encodeIkeMessage(header, payloads);
  t.equal(Buffer.from(reencoded).toString('hex'), Buffer.from(bytes).toString('hex'), 're-encoded to the same bytes');
});
