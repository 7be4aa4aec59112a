import { Secret } from '../../util/secret.ts';
import { deriveChildSaKeys, type DirectionKeys } from '../crypto/key-derivation.ts';
import { cipherSuite } from '../crypto/transforms.ts';
import type { IkePayload } from '../message.ts';
import type { Proposal } from '../payloads/sa.ts';
import { tsFromPrefix, tsToString, type TrafficSelectorEntry } from '../payloads/traffic-selector.ts';
import { describeProposals, describeSpecs, selectProposal, type ProposalSpec } from '../proposals.ts';
import { NotifyType, ProtocolId, TransformType } from '../registry/numbers.ts';
import { localTsOf, remoteTsOf, type IkeSa } from './ike-sa.ts';
import { narrow, narrowToLease, within } from './narrowing.ts';
import { espSuiteOf, notify, proposalsFromSpecs, spiBytes32, spiFromBytes, transformOf } from './payload-helpers.ts';
import { originalAddressesOf, substituteTransportSelectors } from './transport-nat.ts';
import type { ChildSaHalf, ChildSaInfo, IkeConnection } from './types.ts';

/** Child SAs, from IKE_AUTH (§1.2) or CREATE_CHILD_SA (§1.3): offer, choice, selectors, keys. */

/** What the keys of a child come from (§2.17): who sent the request, its nonces, a PFS secret. */
export interface ChildKeying {
  readonly weInitiated: boolean;
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
  readonly pfsSecret?: Uint8Array;
}

/** IKE_AUTH carries no KE (§1.2), so the child proposals there go without their DH groups. */
export const withoutDh = (specs: readonly ProposalSpec[]): ProposalSpec[] => specs.map((s) => new Map([...s].filter(([type]) => type !== TransformType.DH)));

export function childOfferPayloads(sa: IkeSa, conn: IkeConnection, spi: number, specs: readonly ProposalSpec[], dhFirst?: number): { proposals: Proposal[]; payloads: IkePayload[] } {
  const proposals = proposalsFromSpecs(specs, ProtocolId.ESP, spiBytes32(spi), dhFirst);
  const payloads: IkePayload[] = [
    { kind: 'SA', proposals },
    { kind: 'TSi', selectors: localTsOf(sa).map((p) => tsFromPrefix(p)) },
    { kind: 'TSr', selectors: remoteTsOf(sa).map((p) => tsFromPrefix(p)) },
  ];
  if (conn.mode === 'transport') payloads.unshift(notify(NotifyType.USE_TRANSPORT_MODE));
  return { proposals, payloads };
}

function half(spi: number, source: string, destination: string, keys: DirectionKeys): ChildSaHalf {
  return { spi, source, destination, encryption: new Secret(keys.encryption), ...(keys.integrity ? { integrity: new Secret(keys.integrity) } : {}) };
}

/** Transport mode across a NAT: the addresses the selectors named before §2.23.1's substitution. */
type OriginalAddresses = ChildSaInfo['originalAddresses'];

/** Keys and addresses for both directions of a chosen proposal; `ourSpi` is the inbound SPI. */
export function buildChild(sa: IkeSa, conn: IkeConnection, chosen: Proposal, ourSpi: number, peerSpi: number, localTs: readonly TrafficSelectorEntry[], remoteTs: readonly TrafficSelectorEntry[], keying: ChildKeying, original?: OriginalAddresses): ChildSaInfo | undefined {
  const suite = espSuiteOf(chosen);
  const keySuite = cipherSuite(chosen.transforms);
  if (!suite || !keySuite || !sa.crypto) return undefined;
  const k = deriveChildSaKeys(sa.crypto.prf, sa.crypto.keys.skD, keySuite, keying.ni, keying.nr, keying.pfsSecret);
  const [inKeys, outKeys] = keying.weInitiated ? [k.responderToInitiator, k.initiatorToResponder] : [k.initiatorToResponder, k.responderToInitiator];
  return {
    ikeSpi: sa.spiI, connection: conn.name, suite, esn: transformOf(chosen, TransformType.ESN)?.id === 1, mode: conn.mode,
    inbound: half(ourSpi, sa.remote.address, sa.local.address, inKeys),
    outbound: half(peerSpi, sa.local.address, sa.remote.address, outKeys),
    localTs: localTs.map(tsToString), remoteTs: remoteTs.map(tsToString),
    ...(sa.natDetected ? { encapsulation: { localPort: sa.local.port, remotePort: sa.remote.port } } : {}),
    ...(original ? { originalAddresses: original } : {}),
  };
}

export type ChildAnswer = { readonly ok: true; readonly child: ChildSaInfo; readonly payloads: IkePayload[] } | { readonly ok: false; readonly error: number; readonly data?: Uint8Array };

/** The proposal and selectors a responder would take, or the notify that refuses them and why. */
export type ChildChoice = { ok: true; chosen: Proposal; peerSpi: number; remote: TrafficSelectorEntry[]; local: TrafficSelectorEntry[]; transport: boolean; original?: OriginalAddresses } | { ok: false; error: number; reason?: string };

const tsList = (list: readonly TrafficSelectorEntry[]) => list.map(tsToString).join(' ') || 'none';

/** DH groups a peer may use for PFS on this connection: the configured ones, else the IKE proposals' (§1.3.1). */
export function pfsGroupsOf(conn: IkeConnection): number[] {
  if (conn.pfsGroups) return [...conn.pfsGroups];
  const ids = conn.ikeProposals.flatMap((s) => (s.get(TransformType.DH) ?? []).map((t) => t.id));
  return [...new Set(ids)];
}

/**
 * Responder: the child a request asks for. `exchange` 'auth' is IKE_AUTH, which carries no KE, so
 * DH transforms offered there are ignored (§1.2); in CREATE_CHILD_SA they are PFS, accepted in the
 * connection's groups (preferring the KE's) or, when the peer offers NONE, declined.
 */
export function chooseChild(sa: IkeSa, conn: IkeConnection, request: readonly IkePayload[], specs: readonly ProposalSpec[], exchange: 'auth' | 'create' = 'create'): ChildChoice {
  const saPayload = request.find((p) => p.kind === 'SA');
  const tsi = request.find((p) => p.kind === 'TSi');
  const tsr = request.find((p) => p.kind === 'TSr');
  if (saPayload?.kind !== 'SA' || tsi?.kind !== 'TSi' || tsr?.kind !== 'TSr') return { ok: false, error: NotifyType.INVALID_SYNTAX, reason: 'SA, TSi or TSr missing' };
  const transport = request.some((p) => p.kind === 'N' && p.notify.type === NotifyType.USE_TRANSPORT_MODE);
  if (transport !== (conn.mode === 'transport')) return { ok: false, error: NotifyType.NO_PROPOSAL_CHOSEN, reason: `the peer asked for ${transport ? 'transport' : 'tunnel'} mode, the connection is ${conn.mode}` };
  const ke = request.find((p) => p.kind === 'KE');
  const options = exchange === 'auth' ? { ignoreDh: true } : { pfsGroups: pfsGroupsOf(conn), ...(ke?.kind === 'KE' ? { keGroup: ke.ke.group } : {}) };
  const choice = selectProposal(saPayload.proposals, specs, ProtocolId.ESP, options);
  const peerSpi = choice ? spiFromBytes(choice.proposal.spi) : -1;
  if (!choice || peerSpi < 0 || !espSuiteOf(choice.proposal)) {
    return { ok: false, error: NotifyType.NO_PROPOSAL_CHOSEN, reason: `no acceptable ESP proposal: offered ${describeProposals(saPayload.proposals)}; accepted ${describeSpecs(specs)}${exchange === 'create' ? ` with PFS groups ${pfsGroupsOf(conn).join(',') || 'none'}` : ''}` };
  }
  // Transport mode across a NAT: the hosts' addresses as seen here, before narrowing (§2.23.1).
  const seen = transport ? substituteTransportSelectors(sa, tsi.selectors, tsr.selectors) : { tsi: tsi.selectors, tsr: tsr.selectors };
  // TSi is the initiator's side: our remote subnets (or its lease); TSr is ours.
  const leased = !sa.initiator && sa.virtualIp ? narrowToLease(seen.tsi, remoteTsOf(sa)) : undefined;
  const remote = leased ? leased.selectors : narrow(seen.tsi, remoteTsOf(sa));
  const local = narrow(seen.tsr, localTsOf(sa));
  if (!remote.length || !local.length) {
    const substituted = 'original' in seen && seen.original ? ` (seen here as TSi ${tsList(seen.tsi)} TSr ${tsList(seen.tsr)}: transport mode across a NAT)` : '';
    return { ok: false, error: NotifyType.TS_UNACCEPTABLE, reason: `traffic selectors do not fit: offered TSi ${tsList(tsi.selectors)} TSr ${tsList(tsr.selectors)}${substituted}; allowed ${remoteTsOf(sa).join(' ') || 'none'} to ${localTsOf(sa).join(' ') || 'none'}` };
  }
  const original = 'original' in seen && seen.original ? originalAddressesOf(sa, seen.original) : undefined;
  return { ok: true, chosen: choice.proposal, peerSpi, remote, local, transport, ...(original ? { original } : {}) };
}

/** Responder: the answer payloads (SA with our SPI, narrowed TSi/TSr) and the child itself. */
export function answerChild(sa: IkeSa, conn: IkeConnection, choice: Extract<ChildChoice, { ok: true }>, ourSpi: number, keying: ChildKeying, extra: IkePayload[] = []): ChildAnswer {
  const child = buildChild(sa, conn, choice.chosen, ourSpi, choice.peerSpi, choice.local, choice.remote, keying, choice.original);
  if (!child) return { ok: false, error: NotifyType.NO_PROPOSAL_CHOSEN };
  const payloads: IkePayload[] = [{ kind: 'SA', proposals: [{ ...choice.chosen, spi: spiBytes32(ourSpi) }] }, ...extra, { kind: 'TSi', selectors: choice.remote }, { kind: 'TSr', selectors: choice.local }];
  if (choice.transport) payloads.unshift(notify(NotifyType.USE_TRANSPORT_MODE));
  return { ok: true, child, payloads };
}

/** Initiator: the responder's choice must be one of ours, its selectors inside what we proposed. */
export function acceptChild(sa: IkeSa, conn: IkeConnection, offered: readonly Proposal[], ourSpi: number, response: readonly IkePayload[], keyingFor: (chosen: Proposal) => ChildKeying | undefined): ChildAnswer {
  const saPayload = response.find((p) => p.kind === 'SA');
  const tsi = response.find((p) => p.kind === 'TSi');
  const tsr = response.find((p) => p.kind === 'TSr');
  if (saPayload?.kind !== 'SA' || tsi?.kind !== 'TSi' || tsr?.kind !== 'TSr' || saPayload.proposals.length !== 1) return { ok: false, error: NotifyType.INVALID_SYNTAX };
  const chosen = saPayload.proposals[0]!;
  const mine = offered.find((p) => p.number === chosen.number);
  const allowed = mine && chosen.transforms.every((t) => mine.transforms.some((m) => m.type === t.type && m.id === t.id && m.keyLength === t.keyLength));
  const peerSpi = spiFromBytes(chosen.spi);
  if (!allowed || peerSpi < 0) return { ok: false, error: NotifyType.NO_PROPOSAL_CHOSEN };
  const proposedLocal = localTsOf(sa).map((p) => tsFromPrefix(p));
  const proposedRemote = remoteTsOf(sa).map((p) => tsFromPrefix(p));
  // Transport mode across a NAT: the answer back in the addresses seen here before it is checked (§2.23.1).
  const transport = conn.mode === 'transport' && response.some((p) => p.kind === 'N' && p.notify.type === NotifyType.USE_TRANSPORT_MODE);
  const seen = transport ? substituteTransportSelectors(sa, tsi.selectors, tsr.selectors) : { tsi: tsi.selectors, tsr: tsr.selectors };
  if (!within(seen.tsi, proposedLocal) || !within(seen.tsr, proposedRemote)) return { ok: false, error: NotifyType.TS_UNACCEPTABLE };
  const keying = keyingFor(chosen);
  if (!keying) return { ok: false, error: NotifyType.INVALID_KE_PAYLOAD };
  const original = 'original' in seen && seen.original ? originalAddressesOf(sa, seen.original) : undefined;
  const child = buildChild(sa, conn, chosen, ourSpi, peerSpi, seen.tsi, seen.tsr, keying, original);
  return child ? { ok: true, child, payloads: [] } : { ok: false, error: NotifyType.NO_PROPOSAL_CHOSEN };
}
