import { RefusalCode } from './bundle-format.ts';
import type { UpgradeHooks } from '../control/routes/upgrade-routes.ts';
import type { ReceiveResult } from './upgrade-manager.ts';

export interface FetchLimits {
  /** The whole download must finish within this. */
  readonly timeoutMs: number;
  /** Bytes beyond this end the download (the manager refuses oversized payloads on its own as well). */
  readonly maxBytes: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { timeoutMs: 15 * 60_000, maxBytes: 256 * 1024 * 1024 + 8192 };

/**
 * The fleet console's `fetch-upgrade` {url}: download the bundle (http or https: the signature, not
 * the transport, vouches for it) straight through the streaming check into the inactive slot,
 * bounded in size and time, then apply it. Any refusal or fault is an Error whose message becomes
 * the command's reply; the apply hands over to the launcher after the reply has gone out.
 */
export async function fetchAndApply(hooks: UpgradeHooks, args: unknown, configRevision: number, limits: FetchLimits = DEFAULT_FETCH_LIMITS): Promise<{ version: string }> {
  const url = typeof args === 'object' && args !== null ? (args as { url?: unknown }).url : undefined;
  if (typeof url !== 'string' || url.length > 2048) throw new Error('fetch-upgrade wants {"url": "https://…"}');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('fetch-upgrade: not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('fetch-upgrade: only http and https URLs');
  const result = await download(hooks, parsed, limits);
  if (!result.ok) throw new Error(`${result.refusal.code}: ${result.refusal.message}`);
  const applied = hooks.manager.apply(configRevision);
  setTimeout(() => hooks.bootAgain(), 1000); // the reply first
  return { version: applied.version };
}

async function download(hooks: UpgradeHooks, url: URL, limits: FetchLimits): Promise<ReceiveResult> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (error) {
    throw new Error(`fetch-upgrade: ${url.host}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`fetch-upgrade: ${url.host} answered ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    await response.body.cancel();
    return { ok: false, refusal: { code: RefusalCode.tooLarge, message: `the bundle is ${declared} bytes, at most ${limits.maxBytes} are fetched` } };
  }
  let seen = 0;
  const body = response.body;
  const bounded = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      seen += chunk.length;
      if (seen > limits.maxBytes) throw new Error(`fetch-upgrade: more than ${limits.maxBytes} bytes`);
      yield chunk;
    }
  };
  try {
    return await hooks.manager.receive(bounded(), Number.isFinite(declared) ? declared : undefined);
  } catch (error) {
    hooks.manager.abandon();
    if (signal.aborted) throw new Error(`fetch-upgrade: not done within ${Math.round(limits.timeoutMs / 1000)} s`);
    throw error;
  }
}
