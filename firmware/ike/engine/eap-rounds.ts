import { EapMschapv2Client } from '../../auth/eap/mschapv2-client.ts';
import { EapMschapv2Server, type EapStep } from '../../auth/eap/mschapv2-server.ts';
import { localMschapv2Verifier } from '../../auth/mschapv2-verifier.ts';
import { EapRadiusRelay } from '../../auth/eap/eap-radius-relay.ts';
import type { IkePayload } from '../message.ts';
import { AuthMethod } from '../payloads/auth.ts';
import { idFromString, type IdPayload } from '../payloads/identity.ts';
import { ExchangeType } from '../registry/numbers.ts';
import { same, sharedKeyAuthFor } from './auth-values.ts';
import { ourAuthPayloads } from './authenticators.ts';
import type { EngineContext } from './context.ts';
import { completeInitiator, completeResponder, idr, refuseAuth } from './ike-auth.ts';
import type { IkeSa } from './ike-sa.ts';
import { first } from './payload-helpers.ts';

/**
 * EAP inside IKE_AUTH (RFC 7296 §2.16): the responder authenticates first (its AUTH with the
 * shared key), then EAP requests and responses travel in further IKE_AUTH exchanges, and at the
 * end both sides send AUTH keyed with the MSK, binding the EAP run to this IKE SA.
 */

const mskAuth = (data: Uint8Array): IkePayload => ({ kind: 'AUTH', auth: { method: AuthMethod.SHARED_KEY_MIC, data } });

/** Responder: our ID and AUTH now, and the first EAP request; the child waits for the end. */
export function startEapServer(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[], id: IdPayload): void {
  const random = (n: number) => ctx.crypto.randomBytes(n);
  // Issue 21: EAP passed through to RADIUS (any method the server runs), or EAP-MSCHAPv2 here with its verifier.
  const relay = ctx.eapRadius?.(sa.remote.address);
  const verifier = relay ? undefined : (ctx.mschapv2?.(sa.remote.address) ?? (ctx.users ? localMschapv2Verifier(ctx.users) : undefined));
  const server = relay ? new EapRadiusRelay(relay.radius, relay.nas, random, ctx.onEapVerdict) : verifier && new EapMschapv2Server(verifier, random, sa.connection!.localId ?? 'postern', ctx.onEapVerdict);
  if (!server) return refuseAuth(ctx, sa, messageId, 'EAP-MSCHAPv2 needs the local users, and none are configured');
  sa.eap = { server, firstRequest: request, method: relay ? 'EAP through RADIUS' : 'EAP-MSCHAPv2' };
  sa.setState('eap', 'the peer asked for EAP');
  ctx.sendResponse(sa, ExchangeType.IKE_AUTH, messageId, [{ kind: 'IDr', id }, ...ourAuthPayloads(sa, 'r', id), { kind: 'EAP', eap: server.start() }]);
}

/** Responder: an EAP response, or after EAP Success the initiator's AUTH keyed with the MSK. */
export function continueEapServer(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[]): void {
  const { server, msk, firstRequest } = sa.eap;
  const auth = first(request, 'AUTH');
  if (msk && auth) {
    const idi = first(firstRequest ?? [], 'IDi');
    if (!idi || !same(auth.auth.data, sharedKeyAuthFor(sa, 'i', idi.id, msk))) return refuseAuth(ctx, sa, messageId, `AUTH after EAP does not match the MSK for '${sa.remoteId}'`);
    const id = idr(sa, sa.connection!);
    return completeResponder(ctx, sa, messageId, firstRequest ?? [], sa.remoteId, [mskAuth(sharedKeyAuthFor(sa, 'r', id, msk))], sa.eap.method ?? 'EAP');
  }
  const eap = first(request, 'EAP');
  if (!server || !eap || msk) return refuseAuth(ctx, sa, messageId, 'IKE_AUTH during EAP without an EAP payload');
  const step = server.receive(eap.eap);
  if (step.status === 'pending') {
    // RADIUS is deciding: leave the request unanswered (a retransmission is handled afresh) until resumeEapServer.
    sa.eap.heldMessageId = messageId;
    return ctx.holdRequest(sa);
  }
  delete sa.eap.heldMessageId;
  answerEapStep(ctx, sa, messageId, step);
}

/**
 * Responder: the verdict that came later for the held request at `messageId` (the engine has taken
 * the request back in: its message ID is no longer expected).
 */
export function resumeEapServer(ctx: EngineContext, sa: IkeSa, messageId: number, step: Exclude<EapStep, { status: 'pending' }>): void {
  delete sa.eap.heldMessageId;
  answerEapStep(ctx, sa, messageId, step);
}

function answerEapStep(ctx: EngineContext, sa: IkeSa, messageId: number, step: Exclude<EapStep, { status: 'pending' }>): void {
  ctx.sendResponse(sa, ExchangeType.IKE_AUTH, messageId, [{ kind: 'EAP', eap: step.send }]);
  if (step.status === 'failure') {
    ctx.log('warn', `EAP refused: ${step.reason}`, { remote: `${sa.remote.address}:${sa.remote.port}`, ...(step.identity ? { user: step.identity } : {}) });
    return ctx.close(sa, step.reason);
  }
  if (step.status === 'success') {
    sa.eap.msk = step.msk;
    if (step.authorization) sa.eap.authorization = step.authorization;
    sa.remoteId = step.identity;
    ctx.log('info', `${sa.eap.method ?? 'EAP'} authenticated '${step.identity}'`, { connection: sa.connection?.name });
  }
}

/** Initiator: the next EAP response, or after EAP Success our AUTH, or the final answer. */
export function continueEapClient(ctx: EngineContext, sa: IkeSa, response: readonly IkePayload[]): void {
  const conn = sa.connection!;
  const msk = sa.eap.msk;
  if (msk) {
    const auth = first(response, 'AUTH');
    const id = sa.eap.peerIdr ?? idFromString(sa.remoteId);
    if (!auth || !same(auth.auth.data, sharedKeyAuthFor(sa, 'r', id, msk))) return ctx.close(sa, `the peer's AUTH after EAP does not match the MSK`);
    return completeInitiator(ctx, sa, response, 'EAP-MSCHAPv2');
  }
  const eap = first(response, 'EAP');
  if (!eap || !conn.eap) return ctx.close(sa, 'the peer ended EAP without a result');
  sa.eap.client ??= new EapMschapv2Client(conn.eap.identity, conn.eap.password, (n) => ctx.crypto.randomBytes(n));
  const step = sa.eap.client.receive(eap.eap);
  if (step.status === 'failure') return ctx.close(sa, `EAP failed: ${step.reason}`);
  if (step.status === 'continue') return ctx.sendRequest(sa, ExchangeType.IKE_AUTH, [{ kind: 'EAP', eap: step.send }], 'ike-auth');
  sa.eap.msk = step.msk;
  const idi = idFromString(conn.eap.identity);
  ctx.sendRequest(sa, ExchangeType.IKE_AUTH, [mskAuth(sharedKeyAuthFor(sa, 'i', idi, step.msk))], 'ike-auth');
}
