import { COMMAND_NAMES, replyMessage, SCHEMA_VERSION, type CommandMessage, type CommandName, type ReplyMessage } from './schema.ts';

/**
 * Commands from the fleet manager: parsing (never throws on what a broker hands us) and dispatch
 * to injected handlers. A command that cannot be answered (bad JSON, no id) is malformed: counted
 * and ignored. Everything else gets exactly one reply.
 */

export type CommandHandler = (args: unknown) => Promise<void>;
export type CommandHandlers = Readonly<Partial<Record<CommandName, CommandHandler>>>;

export type ParsedCommand =
  | { readonly kind: 'command'; readonly command: CommandMessage }
  /** Well formed, with an id to answer, but not a command (or schema) this firmware knows. */
  | { readonly kind: 'rejected'; readonly id: string | number; readonly error: string }
  | { readonly kind: 'malformed'; readonly why: string };

const MAX_PAYLOAD = 64 * 1024;
const MAX_ID_LENGTH = 128;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCommandName = (v: unknown): v is CommandName => (COMMAND_NAMES as readonly unknown[]).includes(v);

function validId(id: unknown): id is string | number {
  if (typeof id === 'string') return id.length > 0 && id.length <= MAX_ID_LENGTH;
  return typeof id === 'number' && Number.isFinite(id);
}

export function parseCommand(payload: Uint8Array | string): ParsedCommand {
  if (payload.length > MAX_PAYLOAD) return { kind: 'malformed', why: 'too large' };
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return { kind: 'malformed', why: 'not JSON' };
  }
  if (!isRecord(value)) return { kind: 'malformed', why: 'not an object' };
  const { id, command, args, schema } = value;
  if (!validId(id)) return { kind: 'malformed', why: 'no usable id' };
  if (schema !== undefined && schema !== SCHEMA_VERSION) return { kind: 'rejected', id, error: `unsupported schema ${String(schema)}` };
  if (!isCommandName(command)) return { kind: 'rejected', id, error: `unknown command ${(JSON.stringify(command) ?? 'undefined').slice(0, 64)}` };
  return { kind: 'command', command: { id, command, args } };
}

/** The reply for a parsed command, running its handler; undefined for a malformed one. */
export async function runCommand(parsed: ParsedCommand, handlers: CommandHandlers): Promise<ReplyMessage | undefined> {
  if (parsed.kind === 'malformed') return undefined;
  if (parsed.kind === 'rejected') return replyMessage(parsed.id, parsed.error);
  const { id, command, args } = parsed.command;
  const handler = handlers[command];
  if (!handler) return replyMessage(id, `command ${command} is not available`);
  try {
    await handler(args);
    return replyMessage(id);
  } catch (error) {
    return replyMessage(id, error instanceof Error ? error.message : String(error));
  }
}
