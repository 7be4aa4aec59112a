import type { PolicyId, PolicySpec, SaId, SaSpec, UdpEncapsulation } from '../types.ts';
import {
  IPPROTO_ESP, SizeOf, UDP_ENCAP_ESPINUDP, XfrmAttr, XfrmMsg, XFRM_MODE_TRANSPORT, XFRM_MODE_TUNNEL,
  XFRM_POLICY_ALLOW, XFRM_POLICY_BLOCK, XFRM_POLICY_FWD, XFRM_POLICY_IN, XFRM_POLICY_OUT, XFRM_STATE_ESN,
} from './constants.ts';
import { algorithmAttributes } from './algorithms.ts';
import { attribute, netlinkMessage, NLM_F_ACK, NLM_F_REQUEST } from './netlink.ts';
import { address, familyOf, lifetimeConfig, selector, writeAddress } from './structs.ts';

/**
 * The kernel back end's requests (linux/xfrm.h), built from the data plane's own types.
 * Proven byte for byte against iproute2's messages for the same operations.
 */

const DIRECTIONS = { in: XFRM_POLICY_IN, out: XFRM_POLICY_OUT, fwd: XFRM_POLICY_FWD } as const;
const mode = (m: 'tunnel' | 'transport'): number => (m === 'tunnel' ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT);
/** The u8 replay_window field holds up to 255; larger windows (and ESN) use XFRMA_REPLAY_ESN_VAL. */
const needsEsnReplay = (spec: SaSpec): boolean => spec.esn || spec.replayWindow > 255;

/** struct xfrm_usersa_info (224 bytes). */
function usersaInfo(spec: Pick<SaSpec, 'spi' | 'source' | 'destination'> & Partial<SaSpec>): Buffer {
  const dst = address(spec.destination);
  const src = address(spec.source);
  const out = Buffer.alloc(SizeOf.usersaInfo);
  writeAddress(out, 56, dst); // id.daddr (the selector at 0 stays empty: the SA matches by SPI)
  out.writeUInt32BE(spec.spi >>> 0, 72);
  out.writeUInt8(IPPROTO_ESP, 76);
  writeAddress(out, 80, src);
  // An SPI reservation carries no limits (zeros, as iproute2 sends); an SA has them or XFRM_INF.
  if (spec.lifetime) lifetimeConfig(spec.lifetime).copy(out, 96);
  out.writeUInt32LE(spec.reqid ?? 0, 208);
  out.writeUInt16LE(familyOf(dst), 212);
  out.writeUInt8(mode(spec.mode ?? 'transport'), 214);
  if (spec.replayWindow !== undefined && spec.esn !== undefined) {
    out.writeUInt8(needsEsnReplay(spec as SaSpec) ? 0 : spec.replayWindow, 215);
    out.writeUInt8(spec.esn ? XFRM_STATE_ESN : 0, 216);
  }
  return out;
}

/** struct xfrm_encap_tmpl (24 bytes): ESP in UDP, RFC 3948. */
function encapTemplate(encap: UdpEncapsulation): Buffer {
  const out = Buffer.alloc(SizeOf.encapTmpl);
  out.writeUInt16LE(UDP_ENCAP_ESPINUDP, 0);
  out.writeUInt16BE(encap.sourcePort, 2);
  out.writeUInt16BE(encap.destinationPort, 4);
  // encap_oa: the peer's original address for a transport-mode SA behind a NAT (as Libreswan fills
  // it); all zeros otherwise, as iproute2 and strongSwan send.
  if (encap.originalAddress !== undefined) writeAddress(out, 8, address(encap.originalAddress));
  return out;
}

/** struct xfrm_replay_state_esn without its bitmap: the kernel allocates bmp_len words. */
function replayEsn(window: number): Buffer {
  const out = Buffer.alloc(24);
  out.writeUInt32LE(Math.ceil(window / 32), 0);
  out.writeUInt32LE(window, 20);
  return out;
}

export function newSaMessage(spec: SaSpec, seq: number, update = false): Buffer {
  const attrs = algorithmAttributes(spec.suite, spec.keys);
  if (spec.encapsulation) attrs.push(attribute(XfrmAttr.encap, encapTemplate(spec.encapsulation)));
  if (needsEsnReplay(spec)) attrs.push(attribute(XfrmAttr.replayEsnVal, replayEsn(spec.replayWindow)));
  return netlinkMessage(update ? XfrmMsg.updSa : XfrmMsg.newSa, NLM_F_REQUEST | NLM_F_ACK, seq, usersaInfo(spec), attrs);
}

/** struct xfrm_usersa_id (24 bytes): an SA by destination, SPI and protocol. */
function usersaId(id: SaId): Buffer {
  const dst = address(id.destination);
  const body = Buffer.alloc(SizeOf.usersaId);
  writeAddress(body, 0, dst);
  body.writeUInt32BE(id.spi >>> 0, 16);
  body.writeUInt16LE(familyOf(dst), 20);
  body.writeUInt8(IPPROTO_ESP, 22);
  return body;
}

/** XFRM_MSG_DELSA, with the source address as XFRMA_SRCADDR when known. */
export function deleteSaMessage(id: SaId, seq: number, source?: string): Buffer {
  const body = usersaId(id);
  const attrs = source === undefined ? [] : [attribute(XfrmAttr.srcAddr, padAddress(source))];
  return netlinkMessage(XfrmMsg.delSa, NLM_F_REQUEST | NLM_F_ACK, seq, body, attrs);
}

function padAddress(text: string): Buffer {
  const out = Buffer.alloc(16);
  writeAddress(out, 0, address(text));
  return out;
}

/** struct xfrm_user_tmpl (64 bytes): which SA protects the policy's traffic. */
function userTemplate(template: NonNullable<PolicySpec['template']>): Buffer {
  const dst = address(template.destination);
  const out = Buffer.alloc(SizeOf.userTmpl);
  writeAddress(out, 0, dst);
  out.writeUInt8(IPPROTO_ESP, 20);
  out.writeUInt16LE(familyOf(dst), 24);
  writeAddress(out, 28, address(template.source));
  out.writeUInt32LE(template.reqid, 44);
  out.writeUInt8(mode(template.mode), 48);
  out.writeUInt32LE(0xffff_ffff, 52); // aalgos, ealgos, calgos: any
  out.writeUInt32LE(0xffff_ffff, 56);
  out.writeUInt32LE(0xffff_ffff, 60);
  return out;
}

export function newPolicyMessage(spec: PolicySpec, seq: number, update = false): Buffer {
  const body = Buffer.alloc(SizeOf.userpolicyInfo);
  selector(spec.source, spec.destination).copy(body, 0);
  lifetimeConfig().copy(body, 56);
  body.writeUInt32LE(spec.priority, 152);
  body.writeUInt8(DIRECTIONS[spec.direction], 160);
  body.writeUInt8(spec.action === 'discard' ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW, 161);
  const attrs = spec.action === 'protect' && spec.template ? [attribute(XfrmAttr.tmpl, userTemplate(spec.template))] : [];
  return netlinkMessage(update ? XfrmMsg.updPolicy : XfrmMsg.newPolicy, NLM_F_REQUEST | NLM_F_ACK, seq, body, attrs);
}

/** struct xfrm_userpolicy_id (64 bytes). */
export function deletePolicyMessage(id: PolicyId, seq: number): Buffer {
  const body = Buffer.alloc(SizeOf.userpolicyId);
  selector(id.source, id.destination).copy(body, 0);
  body.writeUInt8(DIRECTIONS[id.direction], 60);
  return netlinkMessage(XfrmMsg.delPolicy, NLM_F_REQUEST | NLM_F_ACK, seq, body);
}

/** struct xfrm_userspi_info: a usersa_info naming the pair, and the SPI range to pick from. */
export function allocateSpiMessage(source: string, destination: string, seq: number, min = 0x100, max = 0xffff_ffff): Buffer {
  const body = Buffer.alloc(SizeOf.userspiInfo);
  usersaInfo({ spi: 0, source, destination }).copy(body, 0);
  body.writeUInt32LE(min, 224);
  body.writeUInt32LE(max, 228);
  return netlinkMessage(XfrmMsg.allocSpi, NLM_F_REQUEST, seq, body);
}

/** XFRM_MSG_GETSA: the kernel answers with the SA (XFRM_MSG_NEWSA), counters included. */
export function getSaMessage(id: SaId, seq: number): Buffer {
  return netlinkMessage(XfrmMsg.getSa, NLM_F_REQUEST, seq, usersaId(id));
}
