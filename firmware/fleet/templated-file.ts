/**
 * The newest accepted desired envelope that uses the box's variables (or waits for them), at
 * `<state>/fleet/templated.json` (0600), so new variables fill it again after a restart too: the
 * broker's retained copy is then "already accepted" and not handed to the planner again. Its
 * signature is checked again when read (the file is no more trusted than the broker).
 */
import { decodeEnvelope, decodePayload, sha256Hex, verifySignature, type DesiredPayload } from './envelope.ts';
import { readFleetText, removeFleetFile, writeFleetFile } from './state-file.ts';
import type { OperatorKey } from './verify-desired.ts';

const FILE = 'templated.json';

export function saveTemplated(stateDir: string, envelope: string | undefined): void {
  if (envelope === undefined) return removeFleetFile(stateDir, FILE);
  writeFleetFile(stateDir, FILE, envelope, 0o600);
}

export function loadTemplated(stateDir: string, keys: readonly OperatorKey[], acceptedUpTo: number | undefined): { payload: DesiredPayload; payloadSha256: string; keyId: string; envelope: string } | undefined {
  if (acceptedUpTo === undefined) return undefined;
  try {
    const envelope = readFleetText(stateDir, FILE);
    if (envelope === undefined) return undefined;
    const decoded = decodeEnvelope(envelope);
    if (!decoded.ok) return undefined;
    const key = keys.find((k) => k.id === decoded.value.keyId);
    if (!key || !verifySignature(decoded.value, key.key)) return undefined;
    const payload = decodePayload(decoded.value.payload);
    // Only one the ledger accepted (never a sequence the box has not spent).
    if (!payload.ok || payload.value.sequence > acceptedUpTo) return undefined;
    return { payload: payload.value, payloadSha256: sha256Hex(decoded.value.payload), keyId: key.id, envelope };
  } catch {
    return undefined;
  }
}
