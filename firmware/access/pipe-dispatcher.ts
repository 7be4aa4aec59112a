/*
 * The shared TUN's pipe, shared by every PPP session of every protocol: each session gets a tag,
 * its addresses are routed to the pipe under that tag, and the driver's batches are handed to the
 * session that owns each packet. Packets of a session gone meanwhile are dropped and counted.
 */
import type { NativeHub } from '../dataplane/native-hub.ts';

export type PacketHandler = (packet: Buffer) => void;

export class PipeDispatcher {
  readonly hub: NativeHub;
  readonly counters = { delivered: 0, orphaned: 0, writeFailures: 0 };
  readonly #handlers = new Map<number, PacketHandler>();
  #nextTag = 1;

  constructor(hub: NativeHub) {
    this.hub = hub;
    hub.attachPipe((batch) => {
      for (const [tag, packet] of batch) {
        const handler = this.#handlers.get(tag);
        if (!handler) {
          this.counters.orphaned++;
          continue;
        }
        this.counters.delivered++;
        handler(packet);
      }
    });
  }

  get sessions(): number {
    return this.#handlers.size;
  }

  /** A new session's tag; its handler receives the packets routed to it. */
  register(handler: PacketHandler): number {
    while (this.#handlers.has(this.#nextTag) || this.#nextTag === 0) this.#nextTag = (this.#nextTag + 1) >>> 0;
    const tag = this.#nextTag;
    this.#nextTag = (this.#nextTag + 1) >>> 0;
    this.#handlers.set(tag, handler);
    return tag;
  }

  route(tag: number, prefix: string): void {
    this.hub.routeToPipe(prefix, tag);
  }

  /** Routes out first (the driver stops queueing for the tag), then the handler. */
  unregister(tag: number): void {
    this.hub.unroutePipe(tag);
    this.#handlers.delete(tag);
  }

  /** A session's packet into the TUN. */
  write(packet: Uint8Array): boolean {
    const ok = this.hub.write(Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
    if (!ok) this.counters.writeFailures++;
    return ok;
  }
}
