import { prf } from './prf.ts';
import type { PrfAlgorithm } from './transforms.ts';

/**
 * RFC 7296 §2.15: what each side signs or MACs. For the initiator: its IKE_SA_INIT request, the
 * responder's nonce and prf(SK_pi, IDi body); for the responder: its IKE_SA_INIT response, the
 * initiator's nonce and prf(SK_pr, IDr body). The ID body is the payload without its generic header.
 */
export function signedOctets(alg: PrfAlgorithm, realMessage: Uint8Array, peerNonce: Uint8Array, skP: Uint8Array, idBody: Uint8Array): Buffer {
  return Buffer.concat([realMessage, peerNonce, prf(alg, skP, idBody)]);
}

const KEY_PAD = Buffer.from('Key Pad for IKEv2', 'ascii');

/**
 * AUTH for a shared key (§2.15), and for EAP where the MSK is the key (§2.16):
 * prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>).
 */
export function sharedKeyAuth(alg: PrfAlgorithm, secret: Uint8Array, octets: Uint8Array): Buffer {
  return prf(alg, prf(alg, secret, KEY_PAD), octets);
}
