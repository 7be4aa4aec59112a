/*
 * The server's judgement of a Call Connect Request ([MS-SSTP] §2.2.9, §3.3.5.2.2):
 *
 *  |10 01 00 0e|00 01 00 01|00 01 00 06|00 01|   CALL_CONNECT_REQUEST, 1 attribute,
 *                                                 ENCAPSULATED_PROTOCOL_ID (Length 6) = PPP
 *
 * Anything else is answered by a Call Connect NAK listing one Status Info (§2.2.8) per problem:
 * AttribID is the attribute at fault, Status why, AttribValue what the client proposed.
 */
import { decodeEncapsulatedProtocolId, decodeStatusInfo, type StatusInfo } from './attributes.ts';
import { AttribStatus, AttributeId, ENCAPSULATED_PROTOCOL_PPP, type SstpAttribute } from './packet.ts';

/** §3.3.5.2.2: the Status Info attributes of a NAK, empty when the request is acceptable. */
export function judgeCallConnectRequest(attributes: readonly SstpAttribute[]): StatusInfo[] {
  const problems: StatusInfo[] = [];
  const none = new Uint8Array(0);
  const seen = new Set<number>();
  for (const { attributeId, value } of attributes) {
    if (seen.has(attributeId)) problems.push({ attribId: attributeId, status: AttribStatus.DUPLICATE_ATTRIBUTE, attribValue: value });
    else if (attributeId === AttributeId.ENCAPSULATED_PROTOCOL_ID) {
      const protocol = decodeEncapsulatedProtocolId(value);
      if (!protocol.ok) problems.push({ attribId: attributeId, status: AttribStatus.INVALID_ATTRIB_VALUE_LENGTH, attribValue: value });
      else if (protocol.value !== ENCAPSULATED_PROTOCOL_PPP) problems.push({ attribId: attributeId, status: AttribStatus.VALUE_NOT_SUPPORTED, attribValue: value });
    } else if (attributeId === AttributeId.STATUS_INFO) {
      const info = decodeStatusInfo(value);
      if (!info.ok) problems.push({ attribId: attributeId, status: AttribStatus.INVALID_ATTRIB_VALUE_LENGTH, attribValue: value });
      else if (info.value.status !== AttribStatus.NO_ERROR) problems.push({ attribId: attributeId, status: AttribStatus.STATUS_INFO_NOT_SUPPORTED_IN_MSG, attribValue: none });
    } else problems.push({ attribId: attributeId, status: AttribStatus.UNRECOGNIZED_ATTRIBUTE, attribValue: none });
    seen.add(attributeId);
  }
  // §2.2.8 REQUIRED_ATTRIBUTE_MISSING: "an AttribID of SSTP_ATTRIB_ENCAPSULATED_PROTOCOL_ID".
  if (!seen.has(AttributeId.ENCAPSULATED_PROTOCOL_ID)) problems.push({ attribId: AttributeId.ENCAPSULATED_PROTOCOL_ID, status: AttribStatus.REQUIRED_ATTRIBUTE_MISSING, attribValue: none });
  // At most 16 of them (16 × 76 bytes fit a packet whatever the request held).
  return problems.slice(0, 16);
}
