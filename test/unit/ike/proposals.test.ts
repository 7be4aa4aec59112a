import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { Proposal } from '../../../firmware/ike/payloads/sa.ts';
import { groupToAskFor, parseProposal, selectProposal } from '../../../firmware/ike/proposals.ts';
import { DhId, EncrId, IntegId, PrfId, ProtocolId } from '../../../firmware/ike/registry/numbers.ts';

const flat = (text: string, protocol: 'ike' | 'esp') => {
  const spec = parseProposal(text, protocol);
  return spec && [...spec].flatMap(([, list]) => list.map((x) => [x.type, x.id, x.keyLength]));
};

t.test('configured proposal strings become transforms', async (t) => {
  t.same(flat('aes256-sha256-modp2048', 'ike'), [[1, EncrId.ENCR_AES_CBC, 256], [3, IntegId.AUTH_HMAC_SHA2_256_128, undefined], [2, PrfId.PRF_HMAC_SHA2_256, undefined], [4, DhId.MODP_2048, undefined]]);
  t.same(flat('aes256gcm16-prfsha256-curve25519', 'ike'), [[1, EncrId.ENCR_AES_GCM_16, 256], [2, PrfId.PRF_HMAC_SHA2_256, undefined], [4, DhId.CURVE25519, undefined]], 'AEAD: no integrity');
  t.same(flat('aes256-sha1', 'esp'), [[1, EncrId.ENCR_AES_CBC, 256], [3, IntegId.AUTH_HMAC_SHA1_96, undefined], [5, 0, undefined]], 'ESP: no PRF, no ESN unless asked');
  t.same(flat('aes128gcm16-esn-noesn-ecp256', 'esp'), [[1, EncrId.ENCR_AES_GCM_16, 128], [5, 1, undefined], [5, 0, undefined], [4, DhId.ECP_256, undefined]], 'ESP with PFS and both ESN choices');
  t.equal(parseProposal('aes256-sha256', 'ike'), undefined, 'IKE needs a DH group');
  t.equal(parseProposal('aes999-sha1-modp1024', 'ike'), undefined, 'unknown words are refused');
  const c = defaultConfig().listeners.ikev2.proposals;
  t.ok(c.ike.every((p) => parseProposal(p, 'ike')) && c.esp.every((p) => parseProposal(p, 'esp')), 'every default proposal parses');
});

const offer = (number: number, transforms: Array<[number, number, number?]>): Proposal => ({
  number, protocolId: ProtocolId.IKE, spi: new Uint8Array(),
  transforms: transforms.map(([type, id, keyLength]) => (keyLength === undefined ? { type, id } : { type, id, keyLength })),
});
const windows = offer(1, [[1, EncrId.ENCR_AES_CBC, 256], [3, IntegId.AUTH_HMAC_SHA1_96], [2, PrfId.PRF_HMAC_SHA1], [4, DhId.MODP_1024]]);
const apple = offer(2, [[1, EncrId.ENCR_AES_CBC, 256], [3, IntegId.AUTH_HMAC_SHA2_256_128], [2, PrfId.PRF_HMAC_SHA2_256], [4, DhId.MODP_2048]]);

t.test('the responder takes the first offered proposal it accepts, one transform per type', async (t) => {
  const accepted = defaultConfig().listeners.ikev2.proposals.ike.map((p) => parseProposal(p, 'ike')!);
  const choice = selectProposal([windows, apple], accepted, ProtocolId.IKE);
  t.equal(choice?.proposal.number, 1, "Windows' default proposal is accepted by the default configuration");
  t.same(choice?.proposal.transforms.map((x) => x.type).sort(), [1, 2, 3, 4]);
  const strict = [parseProposal('aes256-sha256-modp2048', 'ike')!];
  t.equal(selectProposal([windows, apple], strict, ProtocolId.IKE)?.proposal.number, 2, 'skips what it does not accept');
  t.equal(selectProposal([windows], strict, ProtocolId.IKE), undefined, 'nothing acceptable: NO_PROPOSAL_CHOSEN');
  const wrongKey = offer(3, [[1, EncrId.ENCR_AES_CBC, 128], [3, IntegId.AUTH_HMAC_SHA2_256_128], [2, PrfId.PRF_HMAC_SHA2_256], [4, DhId.MODP_2048]]);
  t.equal(selectProposal([wrongKey], strict, ProtocolId.IKE), undefined, 'the key length must match');
  const multi = offer(4, [[1, EncrId.ENCR_AES_CBC, 128], [1, EncrId.ENCR_AES_CBC, 256], [3, IntegId.AUTH_HMAC_SHA2_256_128], [2, PrfId.PRF_HMAC_SHA2_256], [4, DhId.ECP_256], [4, DhId.MODP_2048]]);
  t.same(selectProposal([multi], strict, ProtocolId.IKE)?.proposal.transforms.map((x) => [x.id, x.keyLength]), [[EncrId.ENCR_AES_CBC, 256], [IntegId.AUTH_HMAC_SHA2_256_128, undefined], [PrfId.PRF_HMAC_SHA2_256, undefined], [DhId.MODP_2048, undefined]], 'picks within a proposal with alternatives');
  t.equal(selectProposal([{ ...apple, protocolId: ProtocolId.ESP }], strict, ProtocolId.IKE), undefined, 'another protocol is not considered');
});

t.test('INVALID_KE_PAYLOAD: the group to ask for when the KE does not fit the choice', async (t) => {
  const choice = selectProposal([apple], [parseProposal('aes256-sha256-modp2048', 'ike')!], ProtocolId.IKE)!;
  t.equal(groupToAskFor(choice, DhId.ECP_256), DhId.MODP_2048);
  t.equal(groupToAskFor(choice, DhId.MODP_2048), undefined);
});
