import { ErrorCode, PosternError } from '../util/errors.ts';
import { DataPlaneFeature } from './types.ts';
import type { DataPlane, DataPlaneEvent, DataPlaneStats, PolicyId, PolicySpec, SaCounters, SaId, SaSpec, SaUpdate } from './types.ts';

interface FakeSa {
  spec: SaSpec;
  packets: bigint;
  bytes: bigint;
  softExpired: boolean;
}

const saKey = (id: SaId): string => `${id.spi >>> 0}@${id.destination}`;
const policyKey = (id: PolicyId): string => `${id.direction}:${id.source.prefix}:${id.source.port ?? '*'}>${id.destination.prefix}:${id.destination.port ?? '*'}`;

/**
 * An in-memory data plane for engine and shell tests: it keeps SAs and policies with the kernel's
 * rules (no duplicates, deletes of unknown entries fail) and lets a test push traffic through an SA
 * to drive lifetime expiry, and raise acquires.
 */
export class FakeDataPlane implements DataPlane {
  readonly kind = 'fake';
  readonly features: ReadonlySet<DataPlaneFeature> = new Set(Object.values(DataPlaneFeature));
  readonly sas = new Map<string, FakeSa>();
  readonly policies = new Map<string, PolicySpec>();
  readonly #listeners = new Set<(event: DataPlaneEvent) => void>();
  readonly #events = { acquire: 0, expire: 0 };
  #nextSpi: number;
  #closed = false;

  constructor(firstSpi = 0xc000_0001) {
    this.#nextSpi = firstSpi;
  }

  /** As the userspace back end's: here every call already takes effect alone, so it only runs them. */
  batch(apply: () => void): void {
    apply();
  }

  async allocateSpi(): Promise<number> {
    this.#open();
    return this.#nextSpi++ >>> 0;
  }

  async addSa(spec: SaSpec): Promise<void> {
    this.#open();
    const key = saKey(spec);
    if (this.sas.has(key)) throw new PosternError(ErrorCode.dataplaneExists, `SA ${key} exists`);
    this.sas.set(key, { spec, packets: 0n, bytes: 0n, softExpired: false });
  }

  async updateSa(id: SaId, update: SaUpdate): Promise<void> {
    const sa = this.#sa(id);
    const { encapsulation, ...addresses } = update;
    const spec: SaSpec = { ...sa.spec, ...addresses };
    const next: SaSpec = encapsulation === null ? withoutEncapsulation(spec) : encapsulation ? { ...spec, encapsulation } : spec;
    this.sas.delete(saKey(id));
    this.sas.set(saKey(next), { ...sa, spec: next });
  }

  async querySa(id: SaId): Promise<SaCounters | undefined> {
    this.#open();
    const sa = this.sas.get(saKey(id));
    return sa && { packets: sa.packets, bytes: sa.bytes, replayDrops: 0n, authFailures: 0n };
  }

  async deleteSa(id: SaId): Promise<void> {
    this.#sa(id);
    this.sas.delete(saKey(id));
  }

  async addPolicy(spec: PolicySpec): Promise<void> {
    this.#open();
    const key = policyKey(spec);
    if (this.policies.has(key)) throw new PosternError(ErrorCode.dataplaneExists, `policy ${key} exists`);
    this.policies.set(key, spec);
  }

  async updatePolicy(spec: PolicySpec): Promise<void> {
    this.#open();
    this.policies.set(policyKey(spec), spec);
  }

  async deletePolicy(id: PolicyId): Promise<void> {
    this.#open();
    if (!this.policies.delete(policyKey(id))) throw new PosternError(ErrorCode.dataplaneNotFound, `no policy ${policyKey(id)}`);
  }

  stats(): DataPlaneStats {
    return { sas: this.sas.size, policies: this.policies.size, tunnels: 0, acquires: this.#events.acquire, expires: this.#events.expire };
  }

  subscribe(listener: (event: DataPlaneEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  /** Test hook: count traffic on an SA; crossing a soft or hard limit emits `expire` once each. */
  carry(id: SaId, packets: number, bytes: number): void {
    const sa = this.#sa(id);
    sa.packets += BigInt(packets);
    sa.bytes += BigInt(bytes);
    const { lifetime } = sa.spec;
    const over = (limit: bigint | undefined, value: bigint) => limit !== undefined && value >= limit;
    if (over(lifetime.hardBytes, sa.bytes) || over(lifetime.hardPackets, sa.packets)) {
      this.sas.delete(saKey(id));
      this.#emit({ type: 'expire', sa: id, hard: true });
    } else if (!sa.softExpired && (over(lifetime.softBytes, sa.bytes) || over(lifetime.softPackets, sa.packets))) {
      sa.softExpired = true;
      this.#emit({ type: 'expire', sa: id, hard: false });
    }
  }

  /** Test hook: traffic hit a `protect` policy that has no SA. */
  acquire(id: PolicyId): void {
    const policy = this.policies.get(policyKey(id));
    if (!policy?.template) throw new PosternError(ErrorCode.dataplaneNotFound, `no protect policy ${policyKey(id)}`);
    this.#emit({ type: 'acquire', policy: id, reqid: policy.template.reqid });
  }

  #sa(id: SaId): FakeSa {
    this.#open();
    const sa = this.sas.get(saKey(id));
    if (!sa) throw new PosternError(ErrorCode.dataplaneNotFound, `no SA ${saKey(id)}`);
    return sa;
  }

  #open(): void {
    if (this.#closed) throw new PosternError(ErrorCode.dataplaneInvalid, 'data plane closed');
  }

  #emit(event: DataPlaneEvent): void {
    this.#events[event.type]++;
    for (const listener of this.#listeners) listener(event);
  }
}

function withoutEncapsulation(spec: SaSpec): SaSpec {
  const { encapsulation: _dropped, ...rest } = spec;
  return rest;
}
