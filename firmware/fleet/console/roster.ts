/**
 * The operator's view of the fleet (issue 26, `postern fleet list` and `watch`), sans-I/O: retained
 * messages in (announcements, online state, reported state), one row per box out; event messages
 * turned into lines naming their box. Anything malformed is counted and left out, never thrown.
 */
import { RESERVED_SERIALS } from '../topics.ts';

export interface RosterRow {
  readonly serial: string;
  readonly board?: string;
  readonly firmwareVersion?: string;
  /** online / offline (the Last Will), or unknown when the box never connected with telemetry. */
  readonly state: string;
  /** The desired revision applied, and whether safe mode confirmed it. */
  readonly applied?: string;
  readonly confirmed?: boolean;
  /** The last outcome: applied, refused (code), reverted, … */
  readonly last?: string;
  /** The sections a technician changed locally (drift), when any. */
  readonly drift?: readonly string[];
}

type Part = 'announce' | 'state' | 'reported';
type Json = Record<string, unknown>;

const reserved = new Set<string>(RESERVED_SERIALS);

/** The subscriptions that fill a roster under `prefix`. */
export const rosterTopics = (prefix: string): string[] => [`${prefix}/enroll/+`, `${prefix}/+/state`, `${prefix}/+/reported`];

export class Roster {
  readonly #boxes = new Map<string, Partial<Record<Part, Json>>>();
  readonly #prefix: string;
  malformed = 0;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  take(topic: string, payload: Uint8Array): void {
    const where = placeOf(this.#prefix, topic);
    if (!where) return;
    const message = parseObject(payload);
    if (!message) {
      // An empty retained message clears the topic (a box removed): nothing to show for that part.
      if (payload.length > 0) this.malformed++;
      this.#boxes.get(where.serial) && delete this.#boxes.get(where.serial)![where.part];
      return;
    }
    const box = this.#boxes.get(where.serial) ?? {};
    box[where.part] = message;
    this.#boxes.set(where.serial, box);
  }

  rows(): RosterRow[] {
    return [...this.#boxes].filter(([, b]) => Object.keys(b).length > 0).sort(([a], [b]) => a.localeCompare(b)).map(([serial, b]) => {
      const applied = asObject(b.reported?.['applied']);
      const last = asObject(b.reported?.['last']);
      const drift = asObject(b.reported?.['drift']);
      return {
        serial,
        ...(typeof b.announce?.['board'] === 'string' ? { board: b.announce['board'] } : {}),
        ...text('firmwareVersion', b.announce?.['firmwareVersion'] ?? b.state?.['version']),
        state: typeof b.state?.['state'] === 'string' ? b.state['state'] : 'unknown',
        ...text('applied', applied?.['revision']),
        ...(typeof applied?.['confirmed'] === 'boolean' ? { confirmed: applied['confirmed'] } : {}),
        ...text('last', typeof last?.['outcome'] === 'string' ? `${last['outcome']}${typeof last['code'] === 'string' ? ` (${last['code']})` : ''}${typeof last['revision'] === 'string' ? ` ${last['revision']}` : ''}` : undefined),
        ...(Array.isArray(drift?.['sections']) ? { drift: drift['sections'].filter((s): s is string => typeof s === 'string') } : {}),
      };
    });
  }
}

/** An event from `<prefix>/<serial>/events` with its box named, or undefined when it is none. */
export function eventLine(prefix: string, topic: string, payload: Uint8Array): Json | undefined {
  const serial = topic.startsWith(`${prefix}/`) && topic.endsWith('/events') ? topic.slice(prefix.length + 1, -'/events'.length) : undefined;
  if (!serial || serial.includes('/') || reserved.has(serial)) return undefined;
  const event = parseObject(payload);
  return event && typeof event['type'] === 'string' ? { serial, ...event } : undefined;
}

/** A fixed-width table of the rows for a terminal. */
export function rosterTable(rows: readonly RosterRow[]): string {
  const head = ['SERIAL', 'STATE', 'BOARD', 'FIRMWARE', 'APPLIED', 'LAST', 'DRIFT'];
  const cells = rows.map((r) => [r.serial, r.state, r.board ?? '-', r.firmwareVersion ?? '-', r.applied ? `${r.applied}${r.confirmed === false ? ' (unconfirmed)' : ''}` : '-', r.last ?? '-', r.drift?.length ? r.drift.join(',') : '-']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function placeOf(prefix: string, topic: string): { serial: string; part: Part } | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const levels = topic.slice(prefix.length + 1).split('/');
  if (levels.length !== 2) return undefined;
  const [first, second] = levels as [string, string];
  if (first === 'enroll') return reserved.has(second) || second === '' ? undefined : { serial: second, part: 'announce' };
  if (reserved.has(first) || first === '') return undefined;
  return second === 'state' || second === 'reported' ? { serial: first, part: second } : undefined;
}

function parseObject(payload: Uint8Array): Json | undefined {
  if (payload.length === 0 || payload.length > 256 * 1024) return undefined;
  try {
    const value = JSON.parse(Buffer.from(payload).toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

const asObject = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);
const text = <K extends string>(key: K, v: unknown): { [k in K]?: string } => (typeof v === 'string' ? ({ [key]: v } as { [k in K]: string }) : {});
