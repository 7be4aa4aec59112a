/*
 * Which transport SAs carry one L2TP client (issue 20). The LNS keys a tunnel's peer by the path its
 * datagrams came in on (`address:port@via`); a path is the client's outer endpoint, its address and
 * NAT-T port as the NAT maps them, so two laptops behind one NAT (one address, two ports) are two
 * paths, while one client's successive children stay on the same path: a Quick Mode rekey keeps the
 * reqid, but a new phase 1 (Windows re-keys Main Mode every 8 h) brings a new child and reqid from
 * the same endpoint, and its tunnel must go on. Answers leave through the path's newest child.
 */

export class L2tpPaths {
  readonly #viaOf = new Map<string, number>();
  /** Per path, its children's reqids, oldest first. */
  readonly #reqids = new Map<number, number[]>();
  #nextVia = 1;

  /** A child of the L2TP connection from `endpoint` ("address:natPort"): its path, made on first use. */
  add(endpoint: string, reqid: number): number {
    let via = this.#viaOf.get(endpoint);
    if (via === undefined) {
      via = this.#nextVia++;
      this.#viaOf.set(endpoint, via);
      this.#reqids.set(via, []);
    }
    const list = this.#reqids.get(via)!;
    if (!list.includes(reqid)) list.push(reqid);
    return via;
  }

  /** The path of an endpoint, if it has one. */
  viaOf(endpoint: string): number | undefined {
    return this.#viaOf.get(endpoint);
  }

  /** The path's children, newest first: the first that still sends takes the answer. */
  reqidsOf(via: number): readonly number[] {
    return [...(this.#reqids.get(via) ?? [])].reverse();
  }

  /** A child gone for good; a path without children is forgotten (true then: its tunnels cannot be answered any more). */
  forget(via: number, reqid: number): boolean {
    const list = this.#reqids.get(via);
    if (!list) return false;
    const left = list.filter((r) => r !== reqid);
    if (left.length > 0) {
      this.#reqids.set(via, left);
      return false;
    }
    this.#reqids.delete(via);
    for (const [endpoint, v] of this.#viaOf) if (v === via) this.#viaOf.delete(endpoint);
    return true;
  }

  /** The reqid's child gone, on whichever path it was; the paths that went with it. */
  forgetReqid(reqid: number): number[] {
    return [...this.#reqids].filter(([via, list]) => list.includes(reqid) && this.forget(via, reqid)).map(([via]) => via);
  }

  get size(): number {
    return this.#reqids.size;
  }

  /** IKE stopped: reqids start again from 1 with the next installer. */
  clear(): void {
    this.#viaOf.clear();
    this.#reqids.clear();
  }
}
