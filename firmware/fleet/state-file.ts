/**
 * The fleet's own files under `<state>/fleet/` (0700): written atomically, read back as "absent",
 * the parsed value, or why it cannot be used. The ledgers refuse to go on from an unreadable file
 * rather than start over, so the reason is kept for the reported state.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';

export type FleetFileRead<T> = { readonly ok: true; readonly value: T | undefined } | { readonly ok: false; readonly why: string };

export function fleetFilePath(stateDir: string, name: string): string {
  return join(stateDir, 'fleet', name);
}

export function writeFleetFile(stateDir: string, name: string, text: string, mode?: number): void {
  mkdirSync(join(stateDir, 'fleet'), { recursive: true, mode: 0o700 });
  writeFileAtomic(fleetFilePath(stateDir, name), text, mode);
}

export function removeFleetFile(stateDir: string, name: string): void {
  rmSync(fleetFilePath(stateDir, name), { force: true });
}

/** The file's text, or undefined when there is none. Throws what the read throws. */
export function readFleetText(stateDir: string, name: string): string | undefined {
  const path = fleetFilePath(stateDir, name);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/**
 * A JSON file checked by `decode` (which returns the value, or undefined when fields are missing);
 * every failure names the file.
 */
export function readFleetJson<T>(stateDir: string, name: string, decode: (parsed: unknown) => T | undefined): FleetFileRead<T> {
  const path = fleetFilePath(stateDir, name);
  try {
    const text = readFleetText(stateDir, name);
    if (text === undefined) return { ok: true, value: undefined };
    const value = decode(JSON.parse(text));
    return value === undefined ? { ok: false, why: `${path}: fields missing` } : { ok: true, value };
  } catch (error) {
    return { ok: false, why: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
}
