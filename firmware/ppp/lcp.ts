/*
 * LCP Configuration Options (RFC 1661 §6), as a gateway that authenticates its peers uses them:
 *
 *  | Type | Length | Data                                                      |
 *  |  1   |   4    | Maximum-Receive-Unit (16)                                 |  §6.1
 *  |  2   |   6    | Async-Control-Character-Map (32)          (RFC 1662 §7.1) |
 *  |  3   |  ≥ 4   | Authentication-Protocol (16) | Data (CHAP: Algorithm)     |  §6.2
 *  |  5   |   6    | Magic-Number (32)                                         |  §6.4
 *  |  7   |   2    | Protocol-Field-Compression                                |  §6.5
 *  |  8   |   2    | Address-and-Control-Field-Compression                     |  §6.6
 */
import { optionUint, sameBytes, uintOption, type EchoPacket, type PppOption } from './control-packet.ts';
import { PppProtocol } from './frame.ts';
import { ACK, checkEachOption, nak, REJECT, type FsmProtocol, type OptionVerdict, type RequestVerdict } from './fsm-protocol.ts';

/** LCP option types (IANA "PPP LCP Configuration Option Types"). */
export const LcpOption = {
  MaximumReceiveUnit: 1,
  AsyncControlCharacterMap: 2,
  AuthenticationProtocol: 3,
  QualityProtocol: 4,
  MagicNumber: 5,
  ProtocolFieldCompression: 7,
  AddressAndControlFieldCompression: 8,
} as const;

export type AuthMethod = 'mschapv2' | 'mschapv1' | 'chap-md5' | 'eap' | 'pap';

/** Authentication-Protocol option data: protocol, and for CHAP the Algorithm (RFC 1994 §3, RFC 2759 §2, RFC 2433). */
export const AUTH_OPTION_DATA: Readonly<Record<AuthMethod, readonly number[]>> = {
  mschapv2: [0xc2, 0x23, 0x81],
  mschapv1: [0xc2, 0x23, 0x80],
  'chap-md5': [0xc2, 0x23, 0x05],
  eap: [0xc2, 0x27],
  pap: [0xc0, 0x23],
};

export function authMethodOf(data: Uint8Array): AuthMethod | undefined {
  return (Object.keys(AUTH_OPTION_DATA) as AuthMethod[]).find((m) => sameBytes(data, Uint8Array.from(AUTH_OPTION_DATA[m])));
}

/** §6.1: the MRU a peer can always be sent without negotiation. */
export const DEFAULT_MRU = 1500;

export interface LcpConfig {
  /** The MRU we ask for; absent: we ask for none and 1500 applies (§6.1). */
  readonly mru?: number;
  /** The smallest MRU we let the peer ask for (pppd's MINMRU is 128). */
  readonly minPeerMru: number;
  /** Methods the peer may authenticate with, preferred first; empty: we ask for none. */
  readonly auth: readonly AuthMethod[];
  /** Methods we agree to authenticate ourselves with when the peer asks (a client); empty on a gateway. */
  readonly acceptAuth: readonly AuthMethod[];
  /** Randomness for Magic-Numbers (injected, STYLE.md rule 1). */
  readonly random: (n: number) => Uint8Array;
}

export const defaultLcpConfig: Omit<LcpConfig, 'random'> = { minPeerMru: 128, auth: ['mschapv2'], acceptAuth: [] };

/** What LCP agreed on, both ways; read when LCP is up. */
export interface LcpNegotiated {
  /** The largest packet the peer takes: what we may send. */
  peerMru: number;
  peerMagic: number;
  peerPfc: boolean;
  peerAcfc: boolean;
  /** How the peer wants us to authenticate (client side). */
  peerAuth: AuthMethod | undefined;
  /** What we asked for and the peer acknowledged. */
  localMru: number;
  localMagic: number;
  auth: AuthMethod | undefined;
}

/** Told about the LCP packets that matter above the automaton (the LCP engine listens). */
export interface LcpListener {
  echoReply?(echo: EchoPacket, identifier: number): void;
  protocolRejected?(protocol: number): void;
}

export class LcpHandler implements FsmProtocol {
  readonly name = 'LCP';
  readonly protocol = PppProtocol.LCP;
  readonly kind = 'lcp';
  /** RFC 1570 Identification and Time-Remaining: Windows sends them; they ask for nothing. */
  readonly ignoredCodes = [12, 13];
  readonly #config: LcpConfig;
  readonly #listener: LcpListener;
  /** Our request as it stands. */
  #wantMru: number | undefined;
  #wantAuth: AuthMethod | undefined;
  #tried = new Set<AuthMethod>();
  #magic = 0;
  /** Configure-Requests carrying our own Magic-Number since the last different one (§6.4). */
  loopbacks = 0;
  readonly #negotiated: LcpNegotiated = { peerMru: DEFAULT_MRU, peerMagic: 0, peerPfc: false, peerAcfc: false, peerAuth: undefined, localMru: DEFAULT_MRU, localMagic: 0, auth: undefined };

  constructor(config: Partial<LcpConfig> & Pick<LcpConfig, 'random'>, listener: LcpListener = {}) {
    // One shape for every link (a spread gave each its own hidden class: issue 23's memory per call).
    const d = defaultLcpConfig;
    const [minPeerMru, auth, acceptAuth, random] = [config.minPeerMru ?? d.minPeerMru, config.auth ?? d.auth, config.acceptAuth ?? d.acceptAuth, config.random];
    this.#config = config.mru === undefined ? { minPeerMru, auth, acceptAuth, random } : { mru: config.mru, minPeerMru, auth, acceptAuth, random };
    this.#listener = listener;
    this.resetRequest();
  }

  get negotiated(): Readonly<LcpNegotiated> {
    return this.#negotiated;
  }

  resetRequest(): void {
    this.#wantMru = this.#config.mru;
    this.#wantAuth = this.#config.auth[0];
    this.#tried = new Set(this.#wantAuth ? [this.#wantAuth] : []);
    this.#magic = this.#newMagic();
    this.loopbacks = 0;
  }

  buildRequestOptions(): PppOption[] {
    const options: PppOption[] = [];
    if (this.#wantMru !== undefined) options.push(uintOption(LcpOption.MaximumReceiveUnit, this.#wantMru, 2));
    if (this.#wantAuth) options.push({ type: LcpOption.AuthenticationProtocol, data: Uint8Array.from(AUTH_OPTION_DATA[this.#wantAuth]) });
    if (this.#magic !== 0) options.push(uintOption(LcpOption.MagicNumber, this.#magic, 4));
    return options;
  }

  checkRequest(options: readonly PppOption[]): RequestVerdict {
    return checkEachOption(options, (o) => this.#checkOption(o));
  }

  /** One verdict per option type; anything we do not know is rejected (§5.4). */
  #checkOption(option: PppOption): OptionVerdict {
    switch (option.type) {
      case LcpOption.MaximumReceiveUnit: {
        const mru = optionUint(option, 2);
        if (mru === undefined) return REJECT;
        return mru < this.#config.minPeerMru ? nak(uintOption(option.type, this.#config.minPeerMru, 2)) : ACK;
      }
      case LcpOption.AsyncControlCharacterMap:
        // RFC 1662 §7.1: meaningful on async HDLC only; SSTP, L2TP and PPTP links are synchronous.
        return option.data.length === 4 ? ACK : REJECT;
      case LcpOption.AuthenticationProtocol:
        return this.#checkAuth(option);
      case LcpOption.MagicNumber:
        return this.#checkMagic(option);
      case LcpOption.ProtocolFieldCompression:
      case LcpOption.AddressAndControlFieldCompression:
        return option.data.length === 0 ? ACK : REJECT;
      default:
        return REJECT;
    }
  }

  /**
   * §6.2: the peer asks us to authenticate. A gateway (no `acceptAuth`) does not authenticate to its
   * clients and rejects the option; a client Naks a method it cannot do with the one it prefers.
   */
  #checkAuth(option: PppOption): OptionVerdict {
    const mine = this.#config.acceptAuth;
    const first = mine[0];
    if (!first) return REJECT;
    const asked = authMethodOf(option.data);
    return asked && mine.includes(asked) ? ACK : nak({ type: option.type, data: Uint8Array.from(AUTH_OPTION_DATA[first]) });
  }

  /**
   * §6.4: zero is illegal and is Nak'd; the peer's number equal to ours may mean a looped-back link,
   * so it is Nak'd with a different number and counted.
   */
  #checkMagic(option: PppOption): OptionVerdict {
    const magic = optionUint(option, 4);
    if (magic === undefined) return REJECT;
    if (magic !== 0 && magic !== this.#magic) return ACK;
    if (magic !== 0) this.loopbacks++;
    return nak(uintOption(option.type, this.#newMagic(magic), 4));
  }

  onPeerAcked(options: readonly PppOption[]): void {
    const n = this.#negotiated;
    n.peerMru = DEFAULT_MRU;
    n.peerMagic = 0;
    n.peerPfc = n.peerAcfc = false;
    n.peerAuth = undefined;
    for (const o of options) {
      if (o.type === LcpOption.MaximumReceiveUnit) n.peerMru = optionUint(o, 2) ?? DEFAULT_MRU;
      else if (o.type === LcpOption.MagicNumber) n.peerMagic = optionUint(o, 4) ?? 0;
      else if (o.type === LcpOption.ProtocolFieldCompression) n.peerPfc = true;
      else if (o.type === LcpOption.AddressAndControlFieldCompression) n.peerAcfc = true;
      else if (o.type === LcpOption.AuthenticationProtocol) n.peerAuth = authMethodOf(o.data);
    }
    this.loopbacks = 0;
  }

  onAck(options: readonly PppOption[]): void {
    const n = this.#negotiated;
    n.localMru = DEFAULT_MRU;
    n.localMagic = 0;
    n.auth = undefined;
    for (const o of options) {
      if (o.type === LcpOption.MaximumReceiveUnit) n.localMru = optionUint(o, 2) ?? DEFAULT_MRU;
      else if (o.type === LcpOption.MagicNumber) n.localMagic = optionUint(o, 4) ?? 0;
      else if (o.type === LcpOption.AuthenticationProtocol) n.auth = authMethodOf(o.data);
    }
  }

  onNak(options: readonly PppOption[]): string | void {
    for (const o of options) {
      if (o.type === LcpOption.MaximumReceiveUnit) this.#nakMru(o);
      // §6.4: a Nak of our Magic-Number means choosing a new one (it may have been our own, looped).
      else if (o.type === LcpOption.MagicNumber && this.#magic !== 0) this.#magic = this.#newMagic(this.#magic);
      else if (o.type === LcpOption.AuthenticationProtocol && this.#wantAuth) {
        const next = this.#nextAuth(authMethodOf(o.data));
        if (!next) return 'no authentication protocol acceptable to both sides';
        this.#wantAuth = next;
      }
    }
  }

  /** §6.1: take the peer's MRU if we could live with it, else stop asking (1500 applies). */
  #nakMru(option: PppOption): void {
    const mru = optionUint(option, 2);
    const limit = this.#config.mru ?? DEFAULT_MRU;
    this.#wantMru = mru !== undefined && mru >= this.#config.minPeerMru && mru <= limit ? mru : undefined;
  }

  /** The peer's suggestion if we accept it and have not tried it, else our next untried method. */
  #nextAuth(suggested: AuthMethod | undefined): AuthMethod | undefined {
    const acceptable = this.#config.auth;
    const next = suggested && acceptable.includes(suggested) && !this.#tried.has(suggested) ? suggested : acceptable.find((m) => !this.#tried.has(m));
    if (next) this.#tried.add(next);
    return next;
  }

  onReject(options: readonly PppOption[]): string | void {
    for (const o of options) {
      if (o.type === LcpOption.MaximumReceiveUnit) this.#wantMru = undefined;
      else if (o.type === LcpOption.MagicNumber) this.#magic = 0;
      // §6.2: we must authenticate the peer; a peer that refuses cannot be let in.
      else if (o.type === LcpOption.AuthenticationProtocol && this.#wantAuth) return 'peer refused to authenticate';
    }
  }

  magicNumber(): number {
    return this.negotiated.localMagic;
  }

  peerMru(): number {
    return this.negotiated.peerMru;
  }

  onEchoReply(echo: EchoPacket, identifier: number): void {
    this.#listener.echoReply?.(echo, identifier);
  }

  onProtocolReject(protocol: number): void {
    this.#listener.protocolRejected?.(protocol);
  }

  onLayerFinished(): void {
    this.#negotiated.localMagic = 0;
  }

  /** A non-zero random Magic-Number, different from `avoid` (§6.4). */
  #newMagic(avoid = 0): number {
    for (let i = 0; i < 8; i++) {
      const b = this.#config.random(4);
      const magic = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
      if (magic !== 0 && magic !== avoid && magic !== this.#magic) return magic;
    }
    // A random source that keeps returning the same bytes is broken; still never answer with `avoid`.
    return ((avoid ^ 0x5a5a5a5a) >>> 0) || 1;
  }
}
