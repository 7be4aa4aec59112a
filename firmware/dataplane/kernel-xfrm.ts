/*
 * The kernel XFRM back end: SAs and policies go to the kernel over NETLINK_XFRM (messages built in
 * xfrm/messages.ts, answers and events read in xfrm/decode.ts), and the kernel's own ESP carries
 * the packets. Chosen where the kernel has ESP (select.ts); the userspace back end runs elsewhere.
 */
import { ErrorCode, PosternError } from '../util/errors.ts';
import { DataPlaneFeature } from './types.ts';
import type { DataPlane, DataPlaneEvent, DataPlaneStats, PolicyId, PolicySpec, SaCounters, SaId, SaSpec, SaUpdate } from './types.ts';
import { readEvent, readSa } from './xfrm/decode.ts';
import { allocateSpiMessage, deletePolicyMessage, deleteSaMessage, getSaMessage, newPolicyMessage, newSaMessage } from './xfrm/messages.ts';
import { NETLINK_XFRM, NetlinkSocket, XFRM_EVENT_GROUPS } from './xfrm/netlink-socket.ts';

const saKey = (id: SaId): string => `${id.spi >>> 0}@${id.destination}`;

export class KernelXfrmDataPlane implements DataPlane {
  readonly kind = 'kernel-xfrm';
  readonly features: ReadonlySet<DataPlaneFeature> = new Set([DataPlaneFeature.espTunnel, DataPlaneFeature.espTransport, DataPlaneFeature.udpEncapsulation, DataPlaneFeature.esn]);
  readonly #requests: NetlinkSocket;
  #events: NetlinkSocket | undefined;
  readonly #listeners = new Set<(event: DataPlaneEvent) => void>();
  /** SAs as installed, for the source address a delete names and for updates that move an SA. */
  readonly #sas = new Map<string, SaSpec>();
  /** SPIs reserved by ALLOCSPI: the kernel holds a larval SA, which the real one updates. */
  readonly #larval = new Set<string>();
  readonly #counts = { policies: 0, acquires: 0, expires: 0 };
  #seq = 1;
  #closed = false;

  private constructor(requests: NetlinkSocket) {
    this.#requests = requests;
  }

  static open(): KernelXfrmDataPlane {
    return new KernelXfrmDataPlane(NetlinkSocket.open(NETLINK_XFRM));
  }

  async allocateSpi(source: string, destination: string): Promise<number> {
    const [answer] = this.#request(allocateSpiMessage(source, destination, this.#next()), `allocate an SPI for ${source} → ${destination}`);
    if (!answer) throw new PosternError(ErrorCode.dataplaneInvalid, 'the kernel allocated no SPI');
    const { spi } = readSa(answer);
    this.#larval.add(saKey({ spi, destination }));
    return spi;
  }

  async addSa(spec: SaSpec): Promise<void> {
    const key = saKey(spec);
    if (this.#sas.has(key)) throw new PosternError(ErrorCode.dataplaneExists, `SA ${key} exists`);
    const larval = this.#larval.has(key);
    this.#request(newSaMessage(spec, this.#next(), larval), `add SA ${key}`);
    this.#larval.delete(key);
    this.#sas.set(key, spec);
  }

  async updateSa(id: SaId, update: SaUpdate): Promise<void> {
    const old = this.#sas.get(saKey(id));
    if (!old) throw new PosternError(ErrorCode.dataplaneNotFound, `no SA ${saKey(id)}`);
    const { encapsulation, ...addresses } = update;
    let spec: SaSpec = { ...old, ...addresses };
    if (encapsulation === null) {
      const { encapsulation: _gone, ...rest } = spec;
      spec = rest;
    } else if (encapsulation) {
      // A NAT port change keeps the peer's original address (it is the peer's, not the NAT's).
      const originalAddress = encapsulation.originalAddress ?? old.encapsulation?.originalAddress;
      spec = { ...spec, encapsulation: { ...encapsulation, ...(originalAddress !== undefined ? { originalAddress } : {}) } };
    }
    if (spec.destination === old.destination) {
      this.#request(newSaMessage(spec, this.#next(), true), `update SA ${saKey(id)}`);
    } else {
      // The destination is part of the SA's identity: install the moved SA, then remove the old one.
      this.#request(newSaMessage(spec, this.#next()), `move SA ${saKey(id)}`);
      this.#request(deleteSaMessage(id, this.#next(), old.source), `remove the moved SA ${saKey(id)}`);
      this.#sas.delete(saKey(id));
    }
    this.#sas.set(saKey(spec), spec);
  }

  async querySa(id: SaId): Promise<SaCounters | undefined> {
    try {
      const [answer] = this.#request(getSaMessage(id, this.#next()), `query SA ${saKey(id)}`);
      return answer && readSa(answer).counters;
    } catch (error) {
      if (error instanceof PosternError && error.code === ErrorCode.dataplaneNotFound) return undefined;
      throw error;
    }
  }

  async deleteSa(id: SaId): Promise<void> {
    const key = saKey(id);
    this.#request(deleteSaMessage(id, this.#next(), this.#sas.get(key)?.source), `delete SA ${key}`);
    this.#sas.delete(key);
    this.#larval.delete(key);
  }

  async addPolicy(spec: PolicySpec): Promise<void> {
    this.#request(newPolicyMessage(spec, this.#next()), `add the ${spec.direction} policy ${spec.source.prefix} → ${spec.destination.prefix}`);
    this.#counts.policies++;
  }

  async updatePolicy(spec: PolicySpec): Promise<void> {
    this.#request(newPolicyMessage(spec, this.#next(), true), `update the ${spec.direction} policy ${spec.source.prefix} → ${spec.destination.prefix}`);
  }

  async deletePolicy(id: PolicyId): Promise<void> {
    this.#request(deletePolicyMessage(id, this.#next()), `delete the ${id.direction} policy ${id.source.prefix} → ${id.destination.prefix}`);
    this.#counts.policies--;
  }

  /** What this back end installed (the kernel may hold more, from other daemons). */
  stats(): DataPlaneStats {
    return { sas: this.#sas.size, policies: this.#counts.policies, tunnels: 0, acquires: this.#counts.acquires, expires: this.#counts.expires };
  }

  /** The first subscriber joins the kernel's acquire and expire groups. */
  subscribe(listener: (event: DataPlaneEvent) => void): () => void {
    this.#open();
    if (!this.#events) {
      this.#events = NetlinkSocket.open(NETLINK_XFRM, XFRM_EVENT_GROUPS);
      this.#events.listen((message) => {
        const event = readEvent(message);
        if (!event) return;
        this.#counts[event.type === 'acquire' ? 'acquires' : 'expires']++;
        for (const l of this.#listeners) l(event);
      });
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#events?.close();
    this.#requests.close();
  }

  #request(message: Buffer, what: string): Buffer[] {
    this.#open();
    return this.#requests.request(message, what);
  }

  #next(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }

  #open(): void {
    if (this.#closed) throw new PosternError(ErrorCode.dataplaneInvalid, 'data plane closed');
  }
}
