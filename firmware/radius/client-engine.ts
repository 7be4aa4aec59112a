/**
 * The RADIUS client, sans-I/O: `handle(event, now) → actions` and `nextTimeout()`.
 *
 * - Identifiers per server and port (`server-state.ts`); a request waits when all 256 are taken.
 * - Retransmission (RFC 5080 §2.2.1): RT = IRT ± 10 %, then RT = 2·RT ± 10 %, capped at MRT; the
 *   same bytes and Identifier, except accounting, whose Acct-Delay-Time changes and so takes a new
 *   Identifier and Request Authenticator (RFC 2866 §5.2, RFC 5080 §2.2.1); answers to the older
 *   Identifiers of the request are still taken.
 * - Failover: servers in priority order; a server that leaves a request unanswered through every
 *   retransmission without answering anything else meanwhile is marked dead and skipped. A dead
 *   server is used only as a last resort (one transmission) and comes back on a valid answer: to
 *   a Status-Server probe (RFC 5997) sent every `statusServerIntervalMs`, or to a last-resort
 *   request; without probes, after `deadTimeMs`.
 * - Responses are validated before they count: source, Identifier, Response Authenticator,
 *   Message-Authenticator (required on Access-*), a code that answers the request. Anything else
 *   is dropped and counted, and the request keeps waiting.
 */
import type { Secret } from '../util/secret.ts';
import { Attr, integerAttr } from './attributes.ts';
import { checkResponse, signRequest } from './authenticators.ts';
import { reassembleEapMessage } from './eap-message.ts';
import { readMicrosoftReply, type MicrosoftReply } from './microsoft.ts';
import { Code, codeName, decodeRadiusPacket, type RadiusAttribute, type RadiusPacket } from './packet.ts';
import { newServerState, portOf, spaceOf, takeIdentifier, type PortKind, type RadiusServer, type ServerCounters, type ServerState } from './server-state.ts';
import { hideUserPassword } from './user-password.ts';

export interface RadiusRandom {
  bytes(length: number): Uint8Array;
  /** Uniform in [0, 1). */
  fraction(): number;
}

export interface RadiusClientOptions {
  /** In priority order. */
  readonly servers: readonly RadiusServer[];
  readonly random: RadiusRandom;
  /** IRT, the first retransmission timeout (RFC 5080: 2 s). */
  readonly initialTimeoutMs?: number;
  /** MRT, the longest retransmission timeout (RFC 5080: 16 s). */
  readonly maxTimeoutMs?: number;
  /** Retransmissions per server before failing over. */
  readonly maxRetransmits?: number;
  /** MRD, the longest a request may take over all servers (RFC 5080: 30 s). */
  readonly maxDurationMs?: number;
  /** Without Status-Server probes, how long a dead server is skipped. */
  readonly deadTimeMs?: number;
  /** Status-Server probes of dead servers (RFC 5997); 0 turns them off. */
  readonly statusServerIntervalMs?: number;
  /** Requests held at once (outstanding and waiting for an Identifier); beyond it, `overloaded`. */
  readonly maxRequests?: number;
}

export type RequestId = number | string;

export type RadiusEvent =
  | { readonly type: 'CmdAccessRequest'; readonly id: RequestId; readonly attributes: readonly RadiusAttribute[]; readonly userPassword?: Secret<Uint8Array> }
  /** Acct-Delay-Time is the engine's: `delaySeconds` is how long the record waited before (a spool). */
  | { readonly type: 'CmdAccountingRequest'; readonly id: RequestId; readonly attributes: readonly RadiusAttribute[]; readonly delaySeconds?: number }
  /** A Status-Server (RFC 5997) to the servers in order, as a request like any other (the RADIUS page's Test). */
  | { readonly type: 'CmdStatusServer'; readonly id: RequestId }
  | { readonly type: 'RcvDatagram'; readonly address: string; readonly port: number; readonly bytes: Uint8Array }
  /** RadSec: the TLS connection to this server failed or closed; what it carried fails over now (no waiting for timeouts). */
  | { readonly type: 'TransportDown'; readonly server: string; readonly why: string }
  | { readonly type: 'Timeout' };

export type RadiusResult =
  | {
      readonly outcome: 'accept' | 'reject' | 'challenge' | 'accounting-response';
      readonly server: string;
      readonly packet: RadiusPacket;
      /** Microsoft attributes, MPPE keys decrypted. */
      readonly microsoft: MicrosoftReply;
      readonly eapMessage?: Uint8Array;
    }
  | { readonly outcome: 'timeout'; readonly tried: readonly string[] }
  | { readonly outcome: 'overloaded' };

export type RadiusAction =
  | { readonly type: 'Send'; readonly server: string; readonly address: string; readonly port: number; readonly bytes: Uint8Array }
  | { readonly type: 'Complete'; readonly id: RequestId; readonly result: RadiusResult }
  | { readonly type: 'ServerDown' | 'ServerUp'; readonly server: string; readonly why: string }
  | { readonly type: 'Log'; readonly level: 'info' | 'warn'; readonly msg: string };

interface Attempt {
  readonly identifier: number;
  readonly authenticator: Uint8Array;
  readonly bytes: Uint8Array;
  readonly delay: number;
}

interface Request {
  readonly id: RequestId;
  readonly kind: PortKind;
  /** Status-Server rather than Access-Request (on the auth port). */
  readonly status?: boolean;
  readonly attributes: readonly RadiusAttribute[];
  readonly userPassword: Secret<Uint8Array> | undefined;
  readonly delaySeconds: number;
  readonly createdAt: number;
  readonly tried: string[];
  server?: ServerState<Holder>;
  attempts: Attempt[];
  retransmits: number;
  retransmitLimit: number;
  timeoutMs: number;
  nextAt: number;
  /** When the current server was first sent this request: an answer to anything after it keeps the server alive. */
  sentAt: number;
}

/** An Identifier is held by a request or by a Status-Server probe. */
type Holder = Request | 'probe';

interface Probe {
  identifier?: number;
  authenticator?: Uint8Array;
  nextAt: number;
}

const ANSWERS: Record<PortKind, readonly number[]> = { auth: [Code.AccessAccept, Code.AccessReject, Code.AccessChallenge], acct: [Code.AccountingResponse] };
const OUTCOME = { [Code.AccessAccept]: 'accept', [Code.AccessReject]: 'reject', [Code.AccessChallenge]: 'challenge', [Code.AccountingResponse]: 'accounting-response' } as const;
const COUNTER = { [Code.AccessAccept]: 'accepts', [Code.AccessReject]: 'rejects', [Code.AccessChallenge]: 'challenges', [Code.AccountingResponse]: 'accountingResponses' } as const;

export class RadiusClientEngine {
  readonly #o: Required<Omit<RadiusClientOptions, 'servers' | 'random'>> & Pick<RadiusClientOptions, 'random'>;
  readonly #servers: ServerState<Holder>[];
  readonly #requests = new Map<RequestId, Request>();
  /** Requests waiting for a free Identifier, in order. */
  readonly #waiting: Request[] = [];
  readonly #probes = new Map<string, Probe>();
  #actions: RadiusAction[] = [];

  constructor(options: RadiusClientOptions) {
    this.#o = {
      random: options.random,
      initialTimeoutMs: options.initialTimeoutMs ?? 2000,
      maxTimeoutMs: options.maxTimeoutMs ?? 16000,
      maxRetransmits: options.maxRetransmits ?? 2,
      maxDurationMs: options.maxDurationMs ?? 30000,
      deadTimeMs: options.deadTimeMs ?? 60000,
      statusServerIntervalMs: options.statusServerIntervalMs ?? 10000,
      maxRequests: options.maxRequests ?? 4096,
    };
    if (options.servers.length === 0) throw new RangeError('a RADIUS client needs at least one server');
    this.#servers = options.servers.map((s) => newServerState<Holder>(s));
  }

  handle(event: RadiusEvent, now: number): RadiusAction[] {
    this.#actions = [];
    switch (event.type) {
      case 'CmdAccessRequest':
        this.#start(event.id, 'auth', event.attributes, event.userPassword, 0, now);
        break;
      case 'CmdAccountingRequest':
        this.#start(event.id, 'acct', event.attributes, undefined, event.delaySeconds ?? 0, now);
        break;
      case 'CmdStatusServer':
        this.#start(event.id, 'auth', [], undefined, 0, now, true);
        break;
      case 'RcvDatagram':
        this.#receive(event.address, event.port, event.bytes, now);
        break;
      case 'TransportDown':
        this.#transportDown(event.server, event.why, now);
        break;
      case 'Timeout':
        this.#timeouts(now);
        break;
    }
    return this.#actions;
  }

  nextTimeout(): number | undefined {
    let next: number | undefined;
    const consider = (at: number) => (next = next === undefined ? at : Math.min(next, at));
    for (const r of this.#requests.values()) if (r.server) consider(r.nextAt);
    for (const p of this.#probes.values()) consider(p.nextAt);
    if (this.#o.statusServerIntervalMs === 0) for (const s of this.#servers) if (s.deadSince !== undefined) consider(s.deadSince + this.#o.deadTimeMs);
    return next;
  }

  counters(): Record<string, ServerCounters & { readonly alive: boolean }> {
    return Object.fromEntries(this.#servers.map((s) => [s.spec.name, { ...s.counters, alive: s.deadSince === undefined }]));
  }

  /** Each server's liveness and when it last answered (on the engine's clock). */
  serverStates(): Array<{ readonly name: string; readonly alive: boolean; readonly lastResponseAt?: number }> {
    return this.#servers.map((s) => ({ name: s.spec.name, alive: s.deadSince === undefined, ...(s.lastResponseAt !== undefined ? { lastResponseAt: s.lastResponseAt } : {}) }));
  }

  get pending(): number {
    return this.#requests.size;
  }

  #start(id: RequestId, kind: PortKind, attributes: readonly RadiusAttribute[], userPassword: Secret<Uint8Array> | undefined, delaySeconds: number, now: number, status = false): void {
    if (this.#requests.has(id)) throw new Error(`RADIUS request ${String(id)} is already outstanding`);
    if (this.#requests.size >= this.#o.maxRequests) {
      this.#actions.push({ type: 'Complete', id, result: { outcome: 'overloaded' } });
      return;
    }
    const request: Request = { id, kind, ...(status ? { status } : {}), attributes, userPassword, delaySeconds, createdAt: now, tried: [], attempts: [], retransmits: 0, retransmitLimit: 0, timeoutMs: 0, nextAt: now, sentAt: now };
    this.#requests.set(id, request);
    if (this.#waiting.length > 0) this.#waiting.push(request);
    else this.#failover(request, now);
  }

  /** Moves the request to the next server: the first untried live one, else the first untried dead one, once. */
  #failover(request: Request, now: number): void {
    this.#release(request);
    const untried = this.#servers.filter((s) => !request.tried.includes(s.spec.name));
    const server = untried.find((s) => s.deadSince === undefined) ?? untried[0];
    if (!server) return this.#complete(request, { outcome: 'timeout', tried: [...request.tried] }, now);
    request.server = server;
    request.tried.push(server.spec.name);
    request.retransmits = 0;
    // RFC 6614 §2.5 (RFC 5080 §2.2.1): over TLS the transport retransmits; one wait as long as UDP's tries, then fail over.
    const tls = server.spec.transport === 'tls';
    const irt = server.spec.initialTimeoutMs ?? this.#o.initialTimeoutMs;
    const retransmits = server.spec.maxRetransmits ?? this.#o.maxRetransmits;
    request.retransmitLimit = server.deadSince === undefined && !tls ? retransmits : 0;
    request.timeoutMs = this.#jitter(tls ? this.#tlsWaitMs(irt, retransmits) : irt);
    request.sentAt = now;
    server.counters.requests++;
    this.#transmit(request, now);
  }

  #transmit(request: Request, now: number): void {
    const server = request.server!;
    const delay = request.kind === 'acct' ? request.delaySeconds + Math.floor((now - request.createdAt) / 1000) : 0;
    const last = request.attempts.at(-1);
    if (!last || last.delay !== delay) {
      const identifier = takeIdentifier(server, spaceOf(server.spec, request.kind), request);
      if (identifier === undefined) {
        if (!last) return this.#wait(request);
      } else {
        request.attempts.push(this.#encode(request, server, identifier, delay));
      }
    }
    const attempt = request.attempts.at(-1)!;
    request.nextAt = now + request.timeoutMs;
    this.#actions.push({ type: 'Send', server: server.spec.name, address: server.spec.address, port: portOf(server.spec, request.kind), bytes: attempt.bytes });
  }

  #encode(request: Request, server: ServerState<Holder>, identifier: number, delay: number): Attempt {
    const secret = server.spec.secret;
    const random = this.#o.random.bytes(16);
    const attributes = [...request.attributes];
    if (request.userPassword) attributes.splice(1, 0, { type: Attr.UserPassword, value: hideUserPassword(request.userPassword, secret, random) });
    if (request.kind === 'acct') attributes.push(integerAttr(Attr.AcctDelayTime, delay));
    const code = request.status ? Code.StatusServer : request.kind === 'auth' ? Code.AccessRequest : Code.AccountingRequest;
    const bytes = signRequest({ code, identifier, attributes }, secret, random);
    return { identifier, authenticator: bytes.subarray(4, 20), bytes, delay };
  }

  #wait(request: Request): void {
    delete request.server;
    request.tried.pop();
    this.#waiting.unshift(request);
  }

  #timeouts(now: number): void {
    for (const request of [...this.#requests.values()]) {
      if (!request.server || request.nextAt > now) continue;
      if (now - request.createdAt >= this.#o.maxDurationMs) {
        request.server.counters.timeouts++;
        this.#complete(request, { outcome: 'timeout', tried: [...request.tried] }, now);
      } else if (request.retransmits < request.retransmitLimit) {
        request.retransmits++;
        request.server.counters.retransmissions++;
        request.timeoutMs = this.#jitter(Math.min(2 * request.timeoutMs, this.#o.maxTimeoutMs));
        this.#transmit(request, now);
      } else {
        const server = request.server;
        server.counters.timeouts++;
        if (server.deadSince === undefined && (server.lastResponseAt === undefined || server.lastResponseAt < request.sentAt)) {
          this.#markDead(server, now, `no answer to ${String(request.id)} after ${request.retransmits} retransmissions`);
        }
        this.#failover(request, now);
      }
    }
    for (const request of [...this.#waiting]) {
      if (now - request.createdAt < this.#o.maxDurationMs) continue;
      this.#waiting.splice(this.#waiting.indexOf(request), 1);
      this.#complete(request, { outcome: 'timeout', tried: [...request.tried] }, now);
    }
    this.#runProbes(now);
  }

  #tlsWaitMs(irt: number, retransmits: number): number {
    let total = 0;
    for (let i = 0, rt = irt; i <= retransmits; i++, rt = Math.min(2 * rt, this.#o.maxTimeoutMs)) total += rt;
    return total;
  }

  #transportDown(name: string, why: string, now: number): void {
    const server = this.#servers.find((s) => s.spec.name === name);
    if (!server) return;
    if (server.deadSince === undefined) this.#markDead(server, now, why);
    for (const request of [...this.#requests.values()]) if (request.server === server) this.#failover(request, now);
    // The probe's Identifier is lost with the connection: the next probe takes a fresh one.
    const probe = this.#probes.get(name);
    if (probe?.identifier !== undefined) {
      server.inFlight.auth.delete(probe.identifier);
      delete probe.identifier;
      delete probe.authenticator;
    }
  }

  #markDead(server: ServerState<Holder>, now: number, why: string): void {
    server.deadSince = now;
    this.#actions.push({ type: 'ServerDown', server: server.spec.name, why });
    if (this.#o.statusServerIntervalMs > 0) this.#probes.set(server.spec.name, { nextAt: now + this.#o.statusServerIntervalMs });
  }

  #revive(server: ServerState<Holder>, why: string): void {
    if (server.deadSince === undefined) return;
    delete server.deadSince;
    const probe = this.#probes.get(server.spec.name);
    if (probe?.identifier !== undefined) server.inFlight.auth.delete(probe.identifier);
    this.#probes.delete(server.spec.name);
    this.#actions.push({ type: 'ServerUp', server: server.spec.name, why });
  }

  #runProbes(now: number): void {
    for (const server of this.#servers) {
      if (server.deadSince === undefined) continue;
      if (this.#o.statusServerIntervalMs === 0) {
        if (now >= server.deadSince + this.#o.deadTimeMs) this.#revive(server, `dead time of ${this.#o.deadTimeMs} ms over`);
        continue;
      }
      const probe = this.#probes.get(server.spec.name);
      if (!probe || probe.nextAt > now) continue;
      if (probe.identifier !== undefined) server.inFlight.auth.delete(probe.identifier);
      const identifier = takeIdentifier<Holder>(server, 'auth', 'probe');
      probe.nextAt = now + this.#o.statusServerIntervalMs;
      if (identifier === undefined) continue;
      const authenticator = this.#o.random.bytes(16);
      const bytes = signRequest({ code: Code.StatusServer, identifier, attributes: [] }, server.spec.secret, authenticator);
      Object.assign(probe, { identifier, authenticator });
      server.counters.statusServerProbes++;
      this.#actions.push({ type: 'Send', server: server.spec.name, address: server.spec.address, port: server.spec.authPort, bytes });
    }
  }

  #receive(address: string, port: number, bytes: Uint8Array, now: number): void {
    const server = this.#servers.find((s) => s.spec.address === address && (s.spec.authPort === port || s.spec.acctPort === port));
    if (!server) {
      this.#actions.push({ type: 'Log', level: 'warn', msg: `RADIUS datagram from ${address}:${port}, no such server: dropped` });
      return;
    }
    const kind: PortKind = server.spec.authPort === port ? 'auth' : 'acct'; // over TLS: the one space, 'auth'
    const decoded = decodeRadiusPacket(bytes);
    if (!decoded.ok) return this.#drop(server, 'malformed', `undecodable response (${decoded.error.message})`);
    const packet = decoded.value;
    const request = server.inFlight[kind].get(packet.identifier);
    if (request === undefined) return this.#drop(server, 'unknownIdentifier', `${codeName(packet.code)} id ${packet.identifier} answers nothing outstanding`);
    if (request === 'probe') return this.#probeAnswer(server, packet, bytes);
    const attempt = request.attempts.find((a) => a.identifier === packet.identifier)!;
    const check = checkResponse(bytes, attempt.authenticator, server.spec.secret);
    if (check !== 'ok') return this.#drop(server, check === 'missing-message-authenticator' ? 'missingMessageAuthenticator' : 'badAuthenticators', `${codeName(packet.code)} id ${packet.identifier}: ${check}`);
    if (!ANSWERS[request.kind].includes(packet.code)) return this.#drop(server, 'malformed', `${codeName(packet.code)} does not answer a ${request.kind} request`);
    const eap = reassembleEapMessage(packet.attributes);
    if (!eap.ok) return this.#drop(server, 'malformed', `EAP-Message: ${eap.error.message}`);
    server.lastResponseAt = now;
    this.#revive(server, `answered ${String(request.id)}`);
    const code = packet.code as keyof typeof OUTCOME;
    server.counters[COUNTER[code]]++;
    const microsoft = readMicrosoftReply(packet.attributes, server.spec.secret, attempt.authenticator);
    this.#complete(request, { outcome: OUTCOME[code], server: server.spec.name, packet, microsoft, ...(eap.value ? { eapMessage: eap.value } : {}) }, now);
  }

  #probeAnswer(server: ServerState<Holder>, packet: RadiusPacket, bytes: Uint8Array): void {
    const probe = this.#probes.get(server.spec.name);
    if (!probe?.authenticator || probe.identifier !== packet.identifier) return this.#drop(server, 'unknownIdentifier', `id ${packet.identifier} answers no probe`);
    const check = checkResponse(bytes, probe.authenticator, server.spec.secret);
    if (check !== 'ok') return this.#drop(server, check === 'missing-message-authenticator' ? 'missingMessageAuthenticator' : 'badAuthenticators', `Status-Server answer: ${check}`);
    if (packet.code !== Code.AccessAccept) return this.#drop(server, 'malformed', `Status-Server answered with ${codeName(packet.code)}`);
    this.#revive(server, 'answered Status-Server');
  }

  #drop(server: ServerState<Holder>, counter: keyof ServerCounters, why: string): void {
    server.counters[counter]++;
    this.#actions.push({ type: 'Log', level: 'warn', msg: `RADIUS ${server.spec.name}: ${why}: dropped` });
  }

  #release(request: Request): void {
    if (request.server) for (const a of request.attempts) request.server.inFlight[spaceOf(request.server.spec, request.kind)].delete(a.identifier);
    request.attempts = [];
  }

  #complete(request: Request, result: RadiusResult, now: number): void {
    this.#release(request);
    this.#requests.delete(request.id);
    this.#actions.push({ type: 'Complete', id: request.id, result });
    // A freed Identifier goes to the oldest request waiting for one.
    const next = this.#waiting.shift();
    if (next) this.#failover(next, now);
  }

  #jitter(ms: number): number {
    return Math.round(ms * (0.9 + 0.2 * this.#o.random.fraction()));
  }
}
