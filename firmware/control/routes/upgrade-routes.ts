/**
 * Firmware upgrades (issue 18), admin only like every route here. A bundle is uploaded in pieces,
 * `PUT /api/v1/upgrade/bundle?offset=N&total=T` with the raw bytes (each piece at most 8 MiB, so a
 * slow WAN stays within the web server's request time and the page can show progress); each piece
 * is checked as it streams (nothing is written before the signature passes). The last piece answers
 * with the verdict: staged, or refused with its code. `POST /api/v1/upgrade/apply` boots the staged
 * version on trial; `GET /api/v1/upgrade` says what runs, what is staged and how the last attempt went.
 */
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest } from '../api-error.ts';
import type { Reply, RequestContext, Route } from '../router.ts';
import { UpgradeError, type ReceiveResult, type UpgradeManager } from '../../upgrade/upgrade-manager.ts';

export const MAX_PIECE_BYTES = 8 * 1024 * 1024;

/** What the routes need besides the manager: a way to hand over to the launcher after answering. */
export interface UpgradeHooks {
  readonly manager: UpgradeManager;
  /** Stop the service and exit for postern-launcher to boot the trial slot. */
  bootAgain(): void;
}

const unavailable = { status: 200, body: { available: false, why: 'upgrades are not set up in this process' } };

function fromUpgradeError(error: unknown): never {
  if (error instanceof UpgradeError) throw new ApiError(409, ApiCode.conflict, error.message, { code: error.code });
  throw error;
}

function verdict(r: ReceiveResult): Reply {
  if (r.ok) return { status: 200, body: { done: true, staged: r.staged } };
  return { status: 422, body: { error: { code: r.refusal.code, message: r.refusal.message } } };
}

const intParam = (c: RequestContext, name: string): number => {
  const text = c.query.get(name);
  const n = Number(text);
  if (text === null || !/^\d{1,12}$/.test(text) || !Number.isSafeInteger(n)) throw badRequest(`'${name}' must be a byte count`, { field: name });
  return n;
};

async function putPiece(c: RequestContext, hooks: UpgradeHooks): Promise<Reply> {
  const offset = intParam(c, 'offset');
  const total = intParam(c, 'total');
  const m = hooks.manager;
  if (offset === 0) {
    const refused = m.begin(total);
    if (refused) return verdict(refused);
  } else if (m.received !== offset) {
    throw new ApiError(409, ApiCode.conflict, `this piece starts at ${offset}, the upload in progress is at ${m.received ?? 'nothing'}: start again at 0`, { received: m.received ?? null });
  }
  let piece = 0;
  for await (const chunk of c.req) {
    const bytes = chunk as Buffer;
    piece += bytes.length;
    if (piece > MAX_PIECE_BYTES) {
      m.abandon();
      throw new ApiError(413, ApiCode.tooLarge, `pieces are at most ${MAX_PIECE_BYTES} bytes`);
    }
    const refused = m.push(bytes);
    if (refused) {
      c.req.resume(); // drain the rest of this piece: the answer is already known
      return verdict(refused);
    }
  }
  if (offset + piece < total) return { status: 200, body: { done: false, received: offset + piece } };
  return verdict(m.end());
}

export function upgradeRoutes(ctx: ApiContext, hooks: () => UpgradeHooks | undefined): Route[] {
  return [
    { method: 'GET', path: '/api/v1/upgrade', handler: () => {
      const h = hooks();
      return h ? { status: 200, body: h.manager.status() } : unavailable;
    } },
    {
      method: 'PUT', path: '/api/v1/upgrade/bundle',
      handler: async (c) => {
        const h = hooks();
        if (!h) throw new ApiError(409, ApiCode.conflict, unavailable.body.why);
        try {
          return await putPiece(c, h);
        } catch (error) {
          return fromUpgradeError(error);
        }
      },
    },
    { method: 'DELETE', path: '/api/v1/upgrade/bundle', handler: () => {
      hooks()?.manager.abandon();
      return { status: 200, body: { abandoned: true } };
    } },
    {
      method: 'POST', path: '/api/v1/upgrade/apply',
      handler: (c) => {
        const h = hooks();
        if (!h) throw new ApiError(409, ApiCode.conflict, unavailable.body.why);
        let applied: { slot: string; version: string };
        try {
          applied = h.manager.apply(ctx.store.current().revision);
        } catch (error) {
          return fromUpgradeError(error);
        }
        ctx.logger.info('upgrade applied through the API', { version: applied.version, slot: applied.slot });
        // After the answer is on its way: the page then polls GET /api/v1/upgrade until the box is back.
        c.res.once('finish', () => setTimeout(() => h.bootAgain(), 200));
        return { status: 202, body: { ...applied, rebooting: true } };
      },
    },
  ];
}
