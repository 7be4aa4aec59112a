/**
 * The box's side of fleet configuration (issue 26), the shell around the sans-I/O verifier and plan:
 * desired documents in from the telemetry connection, the ledger on disk, the apply through the
 * service's `applyConfig` (safe mode for the WAN and MQTT settings), the retained reported state out.
 *
 * A safe-mode change is confirmed only by a connection to the broker made after it: the telemetry's
 * own reconnect when its settings changed, or one forced here otherwise. A change that cuts the box
 * off its broker therefore is never confirmed and safe mode undoes it; the report says so once the
 * old settings reach the broker again (the reported state is published again on every connect).
 * Messages are handled one at a time, in arrival order.
 *
 * Drift (drift.ts): every configuration change not made by the fleet is compared with the
 * configuration the fleet applied; the sections that differ go into the reported state, and where
 * the desired document says `onLocalChange: 'desired-wins'` the desired configuration is applied again.
 */
import type { ApplyResult } from '../config/transaction.ts';
import type { PosternConfig, TelemetryConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { RetainedPublisher, TelemetryExtension } from '../telemetry/mqtt-telemetry.ts';
import { keyIdOf, parsePublicKey } from './envelope.ts';
import { accepted, readLedger, writeLedger, type LedgerEntry } from './desired-ledger.ts';
import { planDesired } from './desired-plan.ts';
import { decideLocalChange, driftSections, localChangePolicy, type OnLocalChange } from './drift.ts';
import { readLocalChoice, writeLocalChoice } from './local-choice.ts';
import { lastAfterRestart, readLastRefused, writeLastRefused } from './last-refused-file.ts';
import type { AgentState } from './fleet-view.ts';
import { visibleVariables } from './variable-visibility.ts';
import { reportedMessage, type AppliedState, type Drift, type LastOutcome, type ReportedMessage } from './reported.ts';
import { loadTemplated, saveTemplated } from './templated-file.ts';
import { fleetTopics } from './topics.ts';
import { verifyDesired, verifyVariables, type OperatorKey } from './verify-desired.ts';
import { acceptedVariables, readVariablesLedger, writeVariablesLedger, type VariablesEntry } from './variables-ledger.ts';
import type { DesiredPayload } from './envelope.ts';
import type { AnnounceMessage } from './enrollment.ts';

type MqttSettings = TelemetryConfig['mqtt'];

export interface FleetAgentDeps {
  readonly stateDir: string;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly current: () => { readonly config: PosternConfig; readonly revision: number; readonly author: string };
  /** A past configuration revision (the one the fleet applied, after a restart). */
  readonly configAt: (revision: number) => Promise<PosternConfig>;
  readonly apply: (next: PosternConfig, meta: { author: string; comment: string; confirmWithin?: number }) => Promise<ApplyResult>;
  /** The revision safe mode waits on, if any; and its confirmation. */
  readonly safeModePending: () => number | undefined;
  readonly confirmSafeMode: () => boolean;
  /** Drops the broker connection and dials again (a connection made after the change confirms it). */
  readonly reconnect: () => void;
  /** What the box announces, retained, on each connect (enrollment). */
  readonly announce?: (serial: string) => AnnounceMessage;
  /** Each connection to the broker (token enrollment confirms its switch to the certificate by it). */
  readonly connected?: () => void;
}

export interface FleetCounters {
  accepted: number;
  /** Desired state already accepted or superseded, delivered again (retained, after a reconnect). */
  ignored: number;
  refused: number;
  applied: number;
  reverted: number;
  confirmed: number;
  /** Changes by others than the fleet that left the box off its desired configuration. */
  drifted: number;
  /** Of those, undone because desired state wins. */
  reapplied: number;
}

interface Templated {
  /** The envelope's text as it came (kept on disk, templated-file.ts). */
  readonly envelope: string;
  readonly payload: DesiredPayload;
  readonly payloadSha256: string;
  readonly keyId: string;
  readonly confirmSeconds: number;
}

interface Awaiting {
  readonly configRevision: number;
  readonly connectsAtApply: number;
  readonly payload: DesiredPayload;
  readonly payloadSha256: string;
  readonly previousApplied: AppliedState | undefined;
  readonly previousDesired: PosternConfig | undefined;
  readonly previousRevision: string | undefined;
}

/** Outcomes kept as the last refused document (the Fleet page, /healthz). */
const NOT_TAKEN = new Set<string>(['refused', 'failed', 'reverted', 'revert-failed']);
/** How long a WAN change's pending-confirmation report may take to go out before the box dials again. */
const PENDING_REPORT_WAIT_MS = 2000;

export class FleetAgent {
  readonly #d: FleetAgentDeps;
  readonly counters: FleetCounters = { accepted: 0, ignored: 0, refused: 0, applied: 0, reverted: 0, confirmed: 0, drifted: 0, reapplied: 0 };
  readonly refusals: Record<string, number> = {};
  #ledger: LedgerEntry | undefined;
  #ledgerError: string | undefined;
  #variables: VariablesEntry | undefined;
  #variablesError: string | undefined;
  /** The newest accepted payload that uses the box's variables (or lacked them): rendered again when they change. */
  #templated: Templated | undefined;
  #applied: AppliedState | undefined;
  /** The configuration the fleet applied (the running one then), to tell drift from. */
  #desired: PosternConfig | undefined;
  #last: LastOutcome | undefined;
  /** The last desired document (or variables) refused, failed or reverted, kept while later ones apply. */
  #lastRefused: LastOutcome | undefined;
  /** The box's own choice on a local change (the Fleet page), for when the desired document makes none. */
  #localChoice: OnLocalChange | undefined;
  #reported: ReportedMessage | undefined;
  #publish: { readonly serial: string; readonly topic: string; readonly send: RetainedPublisher } | undefined;
  #connects = 0;
  #awaiting: Awaiting | undefined;
  #work: Promise<unknown> = Promise.resolve();

  constructor(deps: FleetAgentDeps) {
    this.#d = deps;
    const read = readLedger(deps.stateDir);
    if (read.ok) {
      this.#ledger = read.entry;
      this.#applied = read.entry?.applied;
    } else {
      this.#ledgerError = read.why;
      deps.logger.error('fleet: the desired-state ledger is unreadable; every desired document is refused until it is fixed', { why: read.why });
    }
    const vars = readVariablesLedger(deps.stateDir);
    if (vars.ok) this.#variables = vars.entry;
    else {
      this.#variablesError = vars.why;
      deps.logger.error('fleet: the variables file is unreadable; variables are refused until it is fixed', { why: vars.why });
    }
    this.#localChoice = readLocalChoice(deps.stateDir);
    const refused = readLastRefused(deps.stateDir);
    if (refused.ok) {
      this.#lastRefused = refused.last;
      this.#last = lastAfterRestart(refused.last, this.#applied?.at);
    } else deps.logger.warn('fleet: the last refusal could not be read back', { why: refused.why });
    // The configuration the fleet applied, from the history: drift shows from the start, not only after a connect.
    if (this.#applied) this.#work = this.#work.then(() => this.#loadDesired()).catch(() => undefined);
  }

  /** For a telemetry connection made with these settings: what to subscribe to and where messages go. */
  extension(settings: MqttSettings): TelemetryExtension | undefined {
    const fleet = settings.fleet;
    if (!settings.enabled || !fleet?.enabled) return undefined;
    const topics = fleetTopics(settings.prefix, settings.deviceId, fleet.groups);
    const keys: OperatorKey[] = fleet.operatorKeys.flatMap((k) => {
      const parsed = parsePublicKey(k);
      return parsed.ok ? [{ id: keyIdOf(parsed.value), key: parsed.value }] : [];
    });
    const context = { serial: settings.deviceId, groups: fleet.groups, keys, confirmSeconds: fleet.confirmSeconds };
    if (!this.#templated) {
      const kept = loadTemplated(this.#d.stateDir, keys, this.#ledger?.sequence);
      if (kept) this.#templated = { ...kept, confirmSeconds: fleet.confirmSeconds };
    }
    return {
      subscriptions: [topics.desired, ...topics.groupDesired, topics.variables],
      message: (topic, payload, retained) => {
        const handle = topic === topics.variables ? () => this.#handleVariables(topic, payload, retained, context) : () => this.#handle(topic, payload, retained, context);
        this.#work = this.#work.then(handle).catch((error: unknown) => this.#d.logger.error('fleet: handling a desired document failed', { error }));
      },
      connected: (send) => {
        this.#publish = { serial: settings.deviceId, topic: topics.reported, send };
        this.#connects++;
        this.#d.connected?.();
        this.#announce(settings.deviceId, topics.announce, send);
        this.#work = this.#work.then(() => this.#onConnected()).catch(() => undefined);
      },
    };
  }

  /** From the service's safe mode: a revert of a fleet change is reported as such. */
  safeModeOutcome(kind: 'confirmed' | 'reverted' | 'revert-failed', revision: number, newRevision?: number, error?: string): void {
    const w = this.#awaiting;
    if (!w || w.configRevision !== revision || kind === 'confirmed') return;
    this.#awaiting = undefined;
    this.counters.reverted++;
    this.#desired = w.previousDesired;
    this.#setApplied(w.previousApplied, w.previousRevision);
    const reason = kind === 'reverted' ? 'safe mode: the box did not reach its broker again after the change' : `safe mode could not revert: ${error ?? 'unknown'}`;
    this.#report({ outcome: kind, sequence: w.payload.sequence, revision: w.payload.revision, reason, ...(newRevision !== undefined ? { configRevision: newRevision } : {}) });
  }

  /** The counters and the refusals by code (`refused.bad-signature`, …), for /healthz and the MQTT status. */
  countersByCause(): Record<string, number> {
    return { ...this.counters, ...Object.fromEntries(Object.entries(this.refusals).map(([code, n]) => [`refused.${code}`, n])) };
  }

  get reported(): ReportedMessage | undefined {
    return this.#reported;
  }

  /** For the web UI's Fleet page and /healthz (fleet-view.ts): variables' values only where not secret. */
  state(): AgentState {
    const t = this.#templated?.payload;
    const v = this.#variables;
    return {
      applied: this.#applied, last: this.#last, lastRefused: this.#lastRefused, drift: this.#drift(),
      onLocalChange: localChangePolicy(this.#desired, this.#localChoice),
      variables: v ? { sequence: v.sequence, acceptedAt: new Date(v.acceptedAt).toISOString(), shown: visibleVariables(v.variables, t ? (t.kind === 'document' ? t.document : t.patch) : undefined) } : undefined,
    };
  }

  async #handle(topic: string, payload: Buffer, retained: boolean, ctx: { serial: string; groups: readonly string[]; keys: readonly OperatorKey[]; confirmSeconds: number }): Promise<void> {
    if (payload.length === 0) return; // a retained message being cleared
    if (this.#ledgerError !== undefined) return this.#refuse({ code: 'ledger', reason: this.#ledgerError }, topic);
    const verdict = verifyDesired(payload, { serial: ctx.serial, groups: ctx.groups, keys: ctx.keys, now: this.#d.clock(), last: this.#ledger, retained });
    if (verdict.kind === 'ignore') {
      this.counters.ignored++;
      return;
    }
    if (verdict.kind === 'refuse') return this.#refuse({ code: verdict.code, reason: verdict.why, ...(verdict.sequence !== undefined ? { sequence: verdict.sequence } : {}), ...(verdict.revision !== undefined ? { revision: verdict.revision } : {}) }, topic);
    const p = verdict.payload;
    this.counters.accepted++;
    // The sequence is spent before anything runs: an authentic document is never taken twice.
    const about = { sequence: p.sequence, revision: p.revision };
    if (!this.#saveLedger(accepted(this.#ledger, { sequence: p.sequence, payloadSha256: verdict.payloadSha256, revision: p.revision, at: this.#d.clock() }))) {
      return this.#refuse({ code: 'ledger', reason: 'the sequence could not be recorded on disk', ...about }, topic);
    }
    await this.#applyAccepted({ envelope: payload.toString('utf8'), payload: p, payloadSha256: verdict.payloadSha256, keyId: verdict.keyId, confirmSeconds: ctx.confirmSeconds }, topic);
  }

  /**
   * An accepted desired payload: planned (placeholders filled from the box's variables) and applied.
   * Also run again for the newest templated payload when new variables arrive.
   */
  async #applyAccepted(a: Templated, topic: string): Promise<void> {
    const { payload: p, keyId } = a;
    const about = { sequence: p.sequence, revision: p.revision };
    const { config } = this.#d.current();
    const appliedRevision = this.#ledger?.appliedRevision;
    // A templated patch already applied is rendered again over the running configuration.
    const base = p.kind === 'patch' && appliedRevision === p.revision ? p.base : appliedRevision;
    const plan = planDesired(p, config, base, this.#variables?.variables);
    const missing = !plan.ok && plan.errors.some((e) => e.code === 'variable-missing');
    this.#setTemplated(missing || (plan.ok && plan.variables.length > 0) ? a : undefined);
    if (!plan.ok) {
      const code = plan.errors[0]?.code === 'base-mismatch' ? 'base-mismatch' : missing ? 'variable-missing' : 'invalid';
      return this.#refuse({ code, reason: missing ? 'the document needs variables this box does not have' : 'the document is not valid', errors: plan.errors, ...about }, topic);
    }
    const payloadSha256 = a.payloadSha256;
    const connectsBefore = this.#connects;
    const safe = plan.safeMode.length > 0;
    const variables = plan.variables.length > 0 && this.#variables ? { variablesSequence: this.#variables.sequence } : {};
    this.#d.logger.info('fleet: applying a desired configuration', { ...about, keyId, kind: p.kind, safeMode: plan.safeMode, ...variables });
    const result = await this.#d.apply(plan.next, { author: 'fleet', comment: `fleet: ${p.revision} (sequence ${p.sequence})`, ...(safe ? { confirmWithin: a.confirmSeconds } : {}) });
    if (!result.ok) {
      const outcome = result.stage === 'validate' ? 'refused' : 'failed';
      return this.#refuse({ outcome, code: result.stage === 'validate' ? 'invalid' : result.stage, reason: result.stage === 'validate' ? 'the document is not valid' : `the change could not be applied (${result.rolledBack ? 'rolled back' : 'partly rolled back'})`, errors: result.errors, ...about }, topic);
    }
    this.counters.applied++;
    const previousApplied = this.#applied;
    const previousRevision = this.#ledger?.appliedRevision;
    const previousDesired = this.#desired;
    this.#desired = this.#runningAt(result.revision) ?? plan.next;
    this.#setApplied({ revision: p.revision, sequence: p.sequence, payloadSha256, configRevision: result.revision, confirmed: !safe, at: new Date(this.#d.clock()).toISOString(), ...variables }, p.revision);
    if (!safe) return this.#report({ outcome: 'applied', ...about, configRevision: result.revision, ...variables });
    this.#awaiting = { configRevision: result.revision, connectsAtApply: connectsBefore, payload: p, payloadSha256, previousApplied, previousRevision, previousDesired };
    const pending = this.#report({ outcome: 'pending-confirmation', ...about, configRevision: result.revision, safeMode: plan.safeMode, ...variables });
    // New MQTT settings make a new connection by themselves; otherwise one is forced, through the new WAN,
    // once the pending report is out (else the console may never see it; bounded: the broker may be gone).
    if (this.#connects > connectsBefore) await this.#onConnected();
    else if (!plan.safeMode.includes('telemetry.mqtt')) {
      await Promise.race([pending, new Promise((r) => setTimeout(r, PENDING_REPORT_WAIT_MS).unref())]);
      this.#awaiting = { ...this.#awaiting, connectsAtApply: this.#connects };
      this.#d.reconnect();
    }
  }

  /** A box's variables: verified like a desired document (own sequence), kept, and the templated payload rendered again. */
  async #handleVariables(topic: string, payload: Buffer, retained: boolean, ctx: { serial: string; keys: readonly OperatorKey[] }): Promise<void> {
    if (payload.length === 0) return;
    const about = { about: 'variables' as const };
    if (this.#variablesError !== undefined) return this.#refuse({ code: 'ledger', reason: this.#variablesError, ...about }, topic);
    const verdict = verifyVariables(payload, { serial: ctx.serial, groups: [], keys: ctx.keys, now: this.#d.clock(), last: this.#variables, retained });
    if (verdict.kind === 'ignore') {
      this.counters.ignored++;
      return;
    }
    if (verdict.kind === 'refuse') return this.#refuse({ code: verdict.code, reason: verdict.why, ...about, ...(verdict.sequence !== undefined ? { sequence: verdict.sequence } : {}) }, topic);
    const v = verdict.payload;
    this.counters.accepted++;
    const entry = acceptedVariables(this.#variables, { sequence: v.sequence, payloadSha256: verdict.payloadSha256, variables: v.variables, at: this.#d.clock() });
    try {
      writeVariablesLedger(this.#d.stateDir, entry);
    } catch (error) {
      this.#d.logger.error('fleet: the variables could not be written', { error });
      return this.#refuse({ code: 'ledger', reason: 'the variables could not be recorded on disk', sequence: v.sequence, ...about }, topic);
    }
    this.#variables = entry;
    this.#d.logger.info('fleet: variables accepted', { sequence: v.sequence, count: Object.keys(v.variables).length });
    if (this.#templated) await this.#applyAccepted(this.#templated, topic);
    else this.#report();
  }

  async #onConnected(): Promise<void> {
    const w = this.#awaiting;
    if (w && this.#connects > w.connectsAtApply && this.#d.safeModePending() === w.configRevision) {
      this.#d.confirmSafeMode();
      this.#awaiting = undefined;
      this.counters.confirmed++;
      if (this.#applied) this.#setApplied({ ...this.#applied, confirmed: true });
      this.#d.logger.info('fleet: change confirmed: the box reached its broker again', { revision: w.payload.revision, configRevision: w.configRevision });
      this.#report({ outcome: 'applied', sequence: w.payload.sequence, revision: w.payload.revision, configRevision: w.configRevision });
      return;
    }
    await this.#loadDesired();
    if (this.#last || this.#applied || this.#variables) this.#report();
  }

  /**
   * The box's own choice (the Fleet page): kept on disk, and in force at once, so choosing
   * desired-wins while the box drifts undoes the local change now. Refused while the desired
   * document makes the choice.
   */
  setLocalChoice(choice: OnLocalChange | undefined, author: string): Promise<{ ok: true } | { ok: false; why: string }> {
    const run = async (): Promise<{ ok: true } | { ok: false; why: string }> => {
      await this.#loadDesired();
      if (localChangePolicy(this.#desired, undefined).source === 'desired') return { ok: false, why: "the operator's desired document makes this choice for this box" };
      writeLocalChoice(this.#d.stateDir, choice);
      this.#localChoice = choice;
      this.#d.logger.info("fleet: the box's own choice on a local change", { onLocalChange: choice ?? 'keep', author });
      await this.#onLocalChange(author);
      return { ok: true };
    };
    const done = this.#work.then(run);
    this.#work = done.catch((error: unknown) => this.#d.logger.error('fleet: setting the choice on a local change failed', { error }));
    return done;
  }

  /**
   * From the service after every configuration change (any author): a change by anyone but the
   * fleet is compared with the desired configuration, reported as drift, and undone where desired
   * state wins. Queued behind desired messages.
   */
  configChanged(author: string): void {
    if (author === 'fleet') return; // the fleet's own applies report themselves
    this.#work = this.#work.then(() => this.#onLocalChange(author)).catch((error: unknown) => this.#d.logger.error('fleet: handling a local change failed', { error }));
  }

  async #onLocalChange(author: string): Promise<void> {
    await this.#loadDesired();
    const applied = this.#applied;
    const running = this.#d.current();
    const decision = decideLocalChange({ desired: this.#desired, running: running.config, author, confirmed: applied?.confirmed === true && this.#awaiting === undefined, local: this.#localChoice });
    if (decision.kind !== 'none') this.counters.drifted++;
    if (decision.kind !== 'reapply' || !applied) {
      if (decision.kind === 'report') this.#d.logger.info('fleet: local change: the box drifts from its desired configuration', { author, configRevision: running.revision, sections: decision.sections });
      if (this.#last || applied) this.#report();
      return;
    }
    this.#d.logger.info('fleet: local change undone: desired state wins on this box', { author, configRevision: running.revision, sections: decision.sections });
    const about = { sequence: applied.sequence, revision: applied.revision };
    const result = await this.#d.apply(decision.next, { author: 'fleet', comment: `fleet: ${applied.revision} again (desired state wins over a change by ${author})` });
    if (!result.ok) {
      return this.#report({ outcome: 'failed', code: result.stage, reason: `re-applying the desired state after a change by ${author} failed`, errors: result.errors, ...about });
    }
    this.counters.reapplied++;
    this.#desired = this.#runningAt(result.revision) ?? decision.next;
    this.#setApplied({ ...applied, configRevision: result.revision });
    this.#report({ outcome: 'reapplied', ...about, configRevision: result.revision, reason: `a local change by ${author} to ${decision.sections.join(', ')} was undone: desired state wins on this box` });
  }

  /** The running configuration if it is still `revision`. */
  #runningAt(revision: number): PosternConfig | undefined {
    const now = this.#d.current();
    return now.revision === revision ? now.config : undefined;
  }

  /** After a restart: the configuration the fleet applied, from the store's history (absent if pruned). */
  async #loadDesired(): Promise<void> {
    if (this.#desired || !this.#applied) return;
    try {
      this.#desired = await this.#d.configAt(this.#applied.configRevision);
    } catch (error) {
      this.#d.logger.warn('fleet: the configuration the fleet applied is no longer in the history; drift is not reported until the next desired document', { configRevision: this.#applied.configRevision, error });
    }
  }

  #drift(): Drift | undefined {
    const running = this.#d.current();
    if (!this.#desired || !this.#applied || running.revision === this.#applied.configRevision) return undefined;
    const sections = driftSections(this.#desired, running.config);
    return sections.length > 0 ? { configRevision: running.revision, author: running.author, sections } : undefined;
  }

  #setTemplated(a: Templated | undefined): void {
    if (this.#templated?.envelope === a?.envelope) return;
    this.#templated = a;
    try {
      saveTemplated(this.#d.stateDir, a?.envelope);
    } catch (error) {
      this.#d.logger.warn('fleet: the templated document could not be kept on disk; new variables fill it again only until a restart', { error });
    }
  }

  #setApplied(applied: AppliedState | undefined, appliedRevision?: string): void {
    this.#applied = applied;
    if (!this.#ledger) return;
    const { applied: _old, ...rest } = this.#ledger;
    this.#saveLedger({ ...rest, ...(applied ? { applied } : {}), ...(appliedRevision !== undefined ? { appliedRevision } : {}) });
  }

  #refuse(r: Omit<LastOutcome, 'outcome' | 'at'> & { outcome?: LastOutcome['outcome'] }, topic: string): void {
    this.counters.refused++;
    const code = r.code ?? 'refused';
    this.refusals[code] = (this.refusals[code] ?? 0) + 1;
    this.#d.logger.warn('fleet: desired configuration refused', { topic, code, reason: r.reason, sequence: r.sequence, revision: r.revision, errors: r.errors });
    this.#report({ ...r, outcome: r.outcome ?? 'refused' });
  }

  /**
   * Publishes the reported state, with a new last outcome if given (and the drift as it is now); the
   * promise settles once it is sent or could not be (never rejects).
   */
  #report(last?: Omit<LastOutcome, 'at'>): Promise<void> {
    const serial = this.#publish?.serial ?? this.#d.current().config.telemetry.mqtt.deviceId;
    if (last) this.#last = { ...last, at: new Date(this.#d.clock()).toISOString() };
    if (last && NOT_TAKEN.has(last.outcome)) {
      this.#lastRefused = this.#last;
      try {
        writeLastRefused(this.#d.stateDir, this.#last!);
      } catch (error) {
        this.#d.logger.warn('fleet: the last refusal could not be written', { error });
      }
    }
    const variables = this.#variables ? { sequence: this.#variables.sequence } : undefined;
    this.#reported = reportedMessage(serial, { applied: this.#applied, last: this.#last, drift: this.#drift(), variables }, this.#d.clock());
    return this.#send(this.#reported);
  }

  /** Best effort: when it cannot be sent now, the next connection sends the newest state. */
  async #send(message: ReportedMessage): Promise<void> {
    const p = this.#publish;
    if (!p) return;
    await p.send(p.topic, JSON.stringify(message)).catch(() => undefined);
  }

  #announce(serial: string, topic: string, send: RetainedPublisher): void {
    let message: AnnounceMessage | undefined;
    try {
      message = this.#d.announce?.(serial);
    } catch (error) {
      this.#d.logger.warn('fleet: no announcement', { error });
    }
    if (message) void send(topic, JSON.stringify(message)).catch(() => undefined);
  }

  #saveLedger(entry: LedgerEntry): boolean {
    try {
      writeLedger(this.#d.stateDir, entry);
      this.#ledger = entry;
      return true;
    } catch (error) {
      this.#d.logger.error('fleet: the desired-state ledger could not be written', { error });
      return false;
    }
  }
}
