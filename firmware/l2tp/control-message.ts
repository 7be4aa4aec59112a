/*
 * L2TP control messages (RFC 2661 §6): the AVPs after a control header, the first always Message
 * Type (§4.4.1), made into one typed record and checked for the AVPs each message requires.
 *
 *   | Message Type AVP | [Random Vector AVP] | AVP | ... |      (an empty payload is a ZLB ack)
 *
 * What the caller gets back:
 *   ok {kind: 'message'}   a known message with every AVP it requires;
 *   ok {kind: 'ignored'}   an unknown Message Type without the M bit (§4.4.1: ignore it);
 *   fail UNSUPPORTED_CRITICAL_PAYLOAD   an unrecognised AVP or Message Type with the M bit: the caller
 *                          tears the tunnel down (StopCCN) or, for a session's message, the session (CDN), §4.1;
 *   fail other codes       malformed: the message is dropped and counted.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import type { Secret } from '../util/secret.ts';
import { decodeAvps, encodeAvp, hideAvpValue, unhideAvpValue, type RawAvp } from './avp.ts';
import { AVP_SPECS, AttributeType, MessageType, avpSpecOfField, avpSpecOfType, decodeAvpValue, encodeAvpValue, messageTypeName, type AvpField, type L2tpAvps, type MessageTypeValue } from './avp-types.ts';

/** §6.1 to §6.16: the AVPs each message MUST carry (beyond Message Type). */
export const REQUIRED_AVPS: Readonly<Record<MessageTypeValue, readonly AvpField[]>> = {
  [MessageType.SCCRQ]: ['protocolVersion', 'hostName', 'framingCapabilities', 'assignedTunnelId'],
  [MessageType.SCCRP]: ['protocolVersion', 'framingCapabilities', 'hostName', 'assignedTunnelId'],
  [MessageType.SCCCN]: [],
  [MessageType.StopCCN]: ['assignedTunnelId', 'resultCode'],
  [MessageType.HELLO]: [],
  [MessageType.OCRQ]: ['assignedSessionId', 'callSerialNumber', 'minimumBps', 'maximumBps', 'bearerType', 'framingType', 'calledNumber'],
  [MessageType.OCRP]: ['assignedSessionId'],
  [MessageType.OCCN]: ['txConnectSpeed', 'framingType'],
  [MessageType.ICRQ]: ['assignedSessionId', 'callSerialNumber'],
  [MessageType.ICRP]: ['assignedSessionId'],
  [MessageType.ICCN]: ['txConnectSpeed', 'framingType'],
  [MessageType.CDN]: ['resultCode', 'assignedSessionId'],
  [MessageType.WEN]: ['callErrors'],
  [MessageType.SLI]: ['accm'],
};

export interface ControlMessage {
  readonly kind: 'message';
  readonly messageType: MessageTypeValue;
  readonly avps: L2tpAvps;
  /** Other vendors' AVPs without the M bit, kept as received (still hidden if they were). */
  readonly vendorAvps: readonly RawAvp[];
  /** Unrecognised IETF AVPs without the M bit, skipped (§4.1). */
  readonly ignoredAvps: number;
}
export type DecodedControl = ControlMessage | { readonly kind: 'ignored'; readonly messageType: number };

export interface ControlCodecOptions {
  /** The tunnel secret: without it a hidden AVP cannot be read and the message is refused. */
  readonly secret?: Secret<Uint8Array> | undefined;
}

const unrecognised = <T>(avp: RawAvp, why: string): Decoded<T> =>
  fail('UNSUPPORTED_CRITICAL_PAYLOAD', `${why} AVP ${avp.vendorId}:${avp.attributeType} with the M bit set: the tunnel or session must be cleared (RFC 2661 §4.1)`, avp.offset ?? 0);

function readMessageType(avps: readonly RawAvp[]): Decoded<number> {
  const first = avps[0];
  if (!first || first.vendorId !== 0 || first.attributeType !== AttributeType.MESSAGE_TYPE) return fail('INVALID_SYNTAX', 'the first AVP is not Message Type (RFC 2661 §4.4.1)', 0);
  if (first.hidden || first.value.length !== 2) return fail('INVALID_SYNTAX', 'Message Type AVP hidden or not 2 bytes', 0);
  return ok(((first.value[0] ?? 0) << 8) | (first.value[1] ?? 0));
}

/** Decodes a control message's payload (not a ZLB: its payload is empty and it carries no message). */
export function decodeControlMessage(payload: Uint8Array, options: ControlCodecOptions = {}): Decoded<DecodedControl> {
  const raw = decodeAvps(payload);
  if (!raw.ok) return raw;
  const type = readMessageType(raw.value);
  if (!type.ok) return type;
  const name = messageTypeName(type.value);
  if (name === undefined) return raw.value[0]!.mandatory ? unrecognised(raw.value[0]!, `Message Type ${type.value} in`) : ok({ kind: 'ignored', messageType: type.value });
  const fields: Record<string, unknown> = {};
  const vendorAvps: RawAvp[] = [];
  let ignoredAvps = 0;
  let randomVector: Uint8Array | undefined;
  for (const avp of raw.value.slice(1)) {
    const spec = avp.vendorId === 0 && !avp.reservedBitsSet ? avpSpecOfType(avp.attributeType) : undefined;
    if (avp.vendorId === 0 && avp.attributeType === AttributeType.RANDOM_VECTOR && !avp.reservedBitsSet) {
      if (avp.hidden || avp.value.length === 0) return fail('INVALID_SYNTAX', 'Random Vector AVP hidden or empty (RFC 2661 §4.4.3)', avp.offset ?? 0);
      randomVector = avp.value;
      continue;
    }
    if (!spec) {
      if (avp.mandatory) return unrecognised(avp, avp.vendorId !== 0 ? 'vendor' : 'unrecognised');
      if (avp.vendorId !== 0) vendorAvps.push(avp);
      else ignoredAvps++;
      continue;
    }
    if (spec.field in fields) return fail('INVALID_SYNTAX', `${name} carries ${spec.name} twice`, avp.offset ?? 0);
    let value = avp.value;
    if (avp.hidden) {
      if (!options.secret) return fail('INVALID_SYNTAX', `${spec.name} AVP is hidden and no tunnel secret is configured (RFC 2661 §4.3)`, avp.offset ?? 0);
      if (!randomVector) return fail('INVALID_SYNTAX', `${spec.name} AVP is hidden with no Random Vector before it (RFC 2661 §4.3)`, avp.offset ?? 0);
      const revealed = unhideAvpValue(avp.attributeType, options.secret.reveal(), randomVector, avp.value);
      if (!revealed.ok) return fail('INVALID_SYNTAX', revealed.error.message, avp.offset ?? 0);
      value = revealed.value;
    }
    const decoded = decodeAvpValue(spec, value);
    if (!decoded.ok) return fail('INVALID_SYNTAX', `${name}: ${decoded.error.message}`, avp.offset ?? 0);
    fields[spec.field] = decoded.value;
  }
  const messageType = type.value as MessageTypeValue;
  const missing = REQUIRED_AVPS[messageType].filter((f) => !(f in fields));
  if (missing.length > 0) return fail('INVALID_SYNTAX', `${name} without ${missing.map((f) => avpSpecOfField(f).name).join(', ')} (RFC 2661 §6)`, 0);
  return ok({ kind: 'message', messageType, avps: fields as L2tpAvps, vendorAvps, ignoredAvps });
}

export interface HideOptions {
  readonly secret: Secret<Uint8Array>;
  /** Fresh random bytes from the caller (16 is customary); sent once, before the hidden AVPs. */
  readonly randomVector: Uint8Array;
  readonly fields: readonly AvpField[];
}

/** Encodes a control message's AVPs in table order, Message Type first; `hide` hides the fields named. */
export function encodeControlMessage(messageType: MessageTypeValue, avps: L2tpAvps, options: { readonly hide?: HideOptions; readonly vendorAvps?: readonly RawAvp[] } = {}): Uint8Array {
  const hide = options.hide;
  const hidden = new Set(hide?.fields ?? []);
  const parts: Uint8Array[] = [encodeAvp({ mandatory: true, hidden: false, vendorId: 0, attributeType: AttributeType.MESSAGE_TYPE, value: Uint8Array.of(messageType >> 8, messageType & 0xff) })];
  const record = avps as Record<string, unknown>;
  const present = AVP_SPECS.filter((s) => record[s.field] !== undefined);
  if (hide && present.some((s) => hidden.has(s.field))) {
    parts.push(encodeAvp({ mandatory: true, hidden: false, vendorId: 0, attributeType: AttributeType.RANDOM_VECTOR, value: hide.randomVector }));
  }
  for (const s of present) {
    const value = encodeAvpValue(s, record[s.field]);
    const hideIt = hide !== undefined && hidden.has(s.field);
    parts.push(encodeAvp({ mandatory: s.mandatory, hidden: hideIt, vendorId: 0, attributeType: s.type, value: hideIt ? hideAvpValue(s.type, hide.secret.reveal(), hide.randomVector, value) : value }));
  }
  for (const v of options.vendorAvps ?? []) parts.push(encodeAvp(v));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** §5.1: Postern answers calls as an LNS only; outgoing calls (OCRQ/OCRP/OCCN) are refused with a CDN. */
export const refusedAsLns = (messageType: number): boolean => messageType === MessageType.OCRQ || messageType === MessageType.OCRP || messageType === MessageType.OCCN;
