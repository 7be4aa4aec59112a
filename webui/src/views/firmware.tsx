/**
 * Firmware (issue 18): what runs and from which slot, the last upgrade's outcome, and an upgrade:
 * upload a signed bundle (in 1 MiB pieces, with a progress bar), see it verified (or why it was
 * refused), apply it after a confirmation, then wait for the box to come back and show the result.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, describe, sendBytes } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
import { bytes, Message } from '../ui.tsx';

interface SlotInfo {
  slot: 'a' | 'b';
  version: string;
  sha256: string;
  minVersion: string;
}

interface UpgradeStatus {
  available: boolean;
  why?: string;
  devKey?: boolean;
  running?: { version: string; slot: 'a' | 'b' | null; trial: boolean };
  staged?: SlotInfo | null;
  pendingTrial?: 'a' | 'b' | null;
  floor?: string;
  lastFailure?: { slot: string; version: string; reason: string; at: number } | null;
  lastCommit?: { version: string; at: number } | null;
  maxPayloadBytes?: number;
}

const PIECE = 1024 * 1024;
const REASONS: Record<string, string> = {
  'not-committed': 'it did not start or did not report healthy before the launcher gave up',
  unhealthy: 'it ran but did not become healthy within the trial time',
  'hash-mismatch': 'its bytes in the slot no longer matched the verified bundle',
};
const when = (seconds: number) => new Date(seconds * 1000).toLocaleString();

function StatusCard(props: { status: UpgradeStatus | undefined }) {
  const s = props.status;
  if (!s) return <div class="card"><p>Loading…</p></div>;
  return (
    <div class="card" role="region" aria-label="firmware status">
      <h2>Firmware</h2>
      <dl class="facts">
        <dt>Running</dt>
        <dd data-testid="running-version">{s.running?.version ?? '?'}{s.running?.slot ? ` (slot ${s.running.slot}${s.running.trial ? ', on trial' : ''})` : ''}</dd>
        {s.lastCommit ? <><dt>Last upgrade</dt><dd data-testid="last-commit">{s.lastCommit.version}, committed {when(s.lastCommit.at)}</dd></> : null}
        {s.floor && s.floor !== '0.0.0' ? <><dt>Oldest version allowed</dt><dd>{s.floor}</dd></> : null}
      </dl>
      {s.lastFailure ? (
        <p class="message error" data-testid="last-failure">
          The upgrade to {s.lastFailure.version} failed on {when(s.lastFailure.at)}: {REASONS[s.lastFailure.reason] ?? s.lastFailure.reason}. The previous version runs again, with the configuration it had.
        </p>
      ) : null}
      {s.devKey ? <p class="warning">This image trusts the development signing key: for the lab only.</p> : null}
      {!s.available ? <p class="hint" data-testid="unavailable">Upgrades are not possible here: {s.why}</p> : null}
    </div>
  );
}

export function FirmwareView() {
  const [status, setStatus] = useState<UpgradeStatus>();
  const [file, setFile] = useState<File>();
  const [sent, setSent] = useState<number>();
  const [verdict, setVerdict] = useState<{ text: string; kind: 'ok' | 'error' | 'warn' }>();
  const [busy, setBusy] = useState(false);
  const confirm = useConfirm();
  const load = async () => setStatus(await api<UpgradeStatus>('GET', '/upgrade').catch(() => undefined));
  useEffect(() => {
    void load();
  }, []);
  // While a trial runs, its commit (or failure) shows up here without a reload.
  useEffect(() => {
    if (!status?.running?.trial) return;
    const timer = setTimeout(() => void load(), 2000);
    return () => clearTimeout(timer);
  }, [status]);

  const upload = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setVerdict(undefined);
    setSent(0);
    try {
      let answer: { done: boolean; staged?: SlotInfo & { bytes: number } } = { done: false };
      for (let offset = 0; offset < file.size; offset += PIECE) {
        answer = await sendBytes('PUT', `/upgrade/bundle?offset=${offset}&total=${file.size}`, file.slice(offset, offset + PIECE));
        setSent(Math.min(file.size, offset + PIECE));
      }
      if (answer.staged) setVerdict({ text: `Verified: version ${answer.staged.version}, signature good, ${bytes(answer.staged.bytes)} written to slot ${answer.staged.slot}. Apply it to boot it on trial.`, kind: 'ok' });
    } catch (error) {
      const code = error instanceof ApiFailure ? ` (${error.code})` : '';
      setVerdict({ text: `Refused: ${describe(error)}${code}. Nothing was changed.`, kind: 'error' });
    } finally {
      setBusy(false);
      void load();
    }
  };

  const apply = async () => {
    const staged = status?.staged;
    if (!staged) return;
    const yes = await confirm.ask({
      title: `Upgrade to ${staged.version}?`,
      body: <p>The gateway restarts into {staged.version} on trial: every session drops for a minute. If it does not become healthy in time, the current version ({status?.running?.version}) comes back by itself, with today's configuration.</p>,
      action: `Upgrade to ${staged.version}`,
      danger: true,
    });
    if (!yes) return;
    try {
      await api('POST', '/upgrade/apply');
      setVerdict({ text: `Restarting into ${staged.version}…`, kind: 'warn' });
      waitForReturn(setVerdict);
    } catch (error) {
      setVerdict({ text: describe(error), kind: 'error' });
    }
  };

  const max = status?.maxPayloadBytes;
  return (
    <>
      <StatusCard status={status} />
      <form class="card" onSubmit={upload} aria-label="upload bundle">
        <h2>Upgrade</h2>
        <p class="hint">A signed update bundle (postern-VERSION-BOARD.bundle){max ? `, at most ${bytes(max)}` : ''}. It is checked as it arrives and written beside the running version; nothing changes until you apply it.</p>
        <input type="file" name="bundle" accept=".bundle" disabled={busy || !status?.available} onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0])} />
        {sent !== undefined && file ? (
          <p class="row">
            <progress max={file.size} value={sent} aria-label="upload progress" />
            <span data-testid="upload-progress">{Math.round((100 * sent) / Math.max(1, file.size))} %</span>
          </p>
        ) : null}
        <p class="row wrap">
          <button type="submit" name="upload" disabled={busy || !file || !status?.available}>Upload and verify</button>
          <button type="button" name="apply" class="danger" disabled={busy || !status?.staged} onClick={() => void apply()}>
            {status?.staged ? `Apply ${status.staged.version}…` : 'Apply…'}
          </button>
        </p>
        <div data-testid="verdict"><Message text={verdict?.text} kind={verdict?.kind} /></div>
        {confirm.dialog}
      </form>
    </>
  );
}

/** Polls /healthz (bounded: five minutes, a trial may take its time) and reloads when the gateway answers again. */
function waitForReturn(say: (m: { text: string; kind: 'ok' | 'error' | 'warn' }) => void): void {
  const started = Date.now();
  let seenDown = false;
  const poll = async () => {
    const up = await fetch('/healthz', { cache: 'no-store' }).then((r) => r.ok, () => false);
    if (!up) seenDown = true;
    if (up && seenDown) {
      say({ text: 'The gateway is back: log in again to see the outcome', kind: 'ok' });
      return void setTimeout(() => location.reload(), 1500);
    }
    if (Date.now() - started > 300_000) return say({ text: 'The gateway has not answered for five minutes', kind: 'error' });
    setTimeout(() => void poll(), 1000);
  };
  setTimeout(() => void poll(), 1000);
}
