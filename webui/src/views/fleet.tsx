/**
 * Fleet (issue 26): whether the box is enrolled and with what, the desired revision the fleet applied
 * against what runs now (local changes as drift), the box's choice on a local change, the variables
 * in use (values hidden where they fill a secret), and the last desired document refused and why.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe } from '../api.ts';
import { Message } from '../ui.tsx';

type Choice = 'keep' | 'desired-wins';

interface Outcome {
  outcome: string;
  code?: string;
  revision?: string;
  sequence?: number;
  reason?: string;
  errors?: Array<{ path: string; message: string }>;
  about?: 'variables';
  at: string;
}

interface Fleet {
  enrollment: {
    state: 'not-configured' | 'enrolling' | 'enrolled' | 'off';
    method?: string;
    serial?: string;
    broker?: string;
    certificate?: { subject: string; issuer: string; notAfter: string; daysLeft: number };
    refusal?: { code: string; reason: string };
    why?: string;
    renewal?: { dueAt: string; failures: number; nextAttemptAt?: string; switching: boolean; lastFailure?: { code: string; reason: string; at: string }; renewedAt?: string };
  };
  configRevision: number;
  applied?: { revision: string; sequence: number; configRevision: number; confirmed: boolean; at: string };
  last?: Outcome;
  lastRefused?: Outcome;
  drift?: { configRevision: number; author: string; sections: string[] };
  onLocalChange: { value: Choice; source: 'desired' | 'local' | 'default' };
  variables?: { sequence: number; acceptedAt: string; shown: Array<{ name: string; value?: string | number | boolean }> };
}

const POLL_MS = 5000;

const STATE_TEXT: Record<Fleet['enrollment']['state'], string> = {
  'not-configured': 'Not configured: this box takes no configuration from a fleet console',
  enrolling: 'Enrolling: exchanging its one-time token for a certificate',
  enrolled: 'Enrolled',
  off: 'Off',
};

const METHOD_TEXT: Record<string, string> = { 'factory-certificate': 'certificate from the factory', token: 'one-time token', settings: 'set by hand' };

export function FleetView() {
  const [fleet, setFleet] = useState<Fleet>();
  const [error, setError] = useState<string>();
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const [choice, setChoice] = useState<Choice>();
  const load = async () => {
    try {
      setFleet(await api<Fleet>('GET', '/fleet'));
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
  };
  useEffect(() => {
    void load();
    const timer = setInterval(load, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  if (error && !fleet) return <Message text={error} />;
  if (!fleet) return <p>Loading…</p>;
  const e = fleet.enrollment;
  const chosen = choice ?? fleet.onLocalChange.value;
  const save = async (ev: Event) => {
    ev.preventDefault();
    try {
      await api('PUT', '/fleet/on-local-change', { onLocalChange: chosen });
      setMessage({ text: chosen === 'desired-wins' ? 'Saved: local changes will be undone' : 'Saved: local changes are kept', kind: 'ok' });
      setChoice(undefined);
      await load();
    } catch (err) {
      setMessage({ text: describe(err), kind: 'error' });
    }
  };
  return (
    <section aria-label="fleet">
      <div class="card" aria-label="fleet enrollment" data-testid="fleet-enrollment" data-state={e.state}>
        <h3>Enrollment</h3>
        <p><strong>{STATE_TEXT[e.state]}</strong>{e.why ? `: ${e.why}` : ''}</p>
        {e.state !== 'not-configured' ? (
          <dl>
            {e.serial ? <><dt>Serial</dt><dd data-testid="fleet-serial">{e.serial}</dd></> : null}
            {e.broker ? <><dt>Broker</dt><dd>{e.broker}</dd></> : null}
            {e.method ? <><dt>Identity</dt><dd>{METHOD_TEXT[e.method] ?? e.method}</dd></> : null}
            {e.certificate ? <><dt>Certificate</dt><dd data-testid="fleet-certificate">{e.certificate.subject}, expires {e.certificate.notAfter.slice(0, 10)} ({e.certificate.daysLeft} days)</dd></> : null}
          </dl>
        ) : null}
        {e.renewal ? (
          <p data-testid="fleet-renewal">
            Renewal: {e.renewal.switching ? 'switching to the renewed certificate, waiting for the broker' : `asked from ${e.renewal.dueAt.slice(0, 10)}`}
            {e.renewal.renewedAt ? `; last renewed ${e.renewal.renewedAt.slice(0, 10)}` : ''}
            {e.renewal.lastFailure ? `; ${e.renewal.failures} failed, last: ${e.renewal.lastFailure.reason} (${e.renewal.lastFailure.code}), next attempt ${e.renewal.nextAttemptAt ?? ''}` : ''}
          </p>
        ) : null}
        {e.refusal ? <Message text={`The console refused the enrollment (${e.refusal.code}): ${e.refusal.reason}`} /> : null}
      </div>

      <div class="card" aria-label="desired configuration" data-testid="fleet-desired">
        <h3>Desired configuration</h3>
        {fleet.applied ? (
          <p>
            Applied revision <strong>{fleet.applied.revision}</strong> (sequence {fleet.applied.sequence}) as configuration revision {fleet.applied.configRevision}
            {fleet.applied.confirmed ? '' : ', waiting to reach the broker again (safe mode)'}; running now: revision {fleet.configRevision}.
          </p>
        ) : <p>No desired configuration applied yet.</p>}
        {fleet.drift ? (
          <p class="message warn" data-testid="fleet-drift">
            Local changes since the desired configuration was applied: <strong>{fleet.drift.sections.join(', ')}</strong> (revision {fleet.drift.configRevision}, by {fleet.drift.author}).
          </p>
        ) : fleet.applied ? <p data-testid="fleet-no-drift">The box runs its desired configuration.</p> : null}
        {fleet.last?.outcome === 'reapplied' ? <p class="message ok" data-testid="fleet-reapplied">{fleet.last.reason}</p> : null}
      </div>

      <form class="card" aria-label="on a local change" onSubmit={save}>
        <h3>On a local change</h3>
        <Message text={message?.text} kind={message?.kind} />
        <label class="switch"><input type="radio" name="on-local-change" value="keep" checked={chosen === 'keep'} disabled={fleet.onLocalChange.source === 'desired'} onChange={() => setChoice('keep')} /> Keep local changes (reported to the console as drift)</label>
        <label class="switch"><input type="radio" name="on-local-change" value="desired-wins" checked={chosen === 'desired-wins'} disabled={fleet.onLocalChange.source === 'desired'} onChange={() => setChoice('desired-wins')} /> Desired state wins (a local change is undone at once)</label>
        {fleet.onLocalChange.source === 'desired'
          ? <p class="hint">The operator's desired document makes this choice for this box.</p>
          : <button type="submit" disabled={e.state === 'not-configured'}>Save</button>}
      </form>

      <div class="card" aria-label="variables" data-testid="fleet-variables">
        <h3>Variables</h3>
        {fleet.variables ? (
          <>
            <p>Sequence {fleet.variables.sequence}, accepted {fleet.variables.acceptedAt}.</p>
            <table>
              <thead><tr><th>Name</th><th>Value</th></tr></thead>
              <tbody>
                {fleet.variables.shown.map((v) => <tr key={v.name}><td>{v.name}</td><td>{v.value !== undefined ? String(v.value) : <em>hidden</em>}</td></tr>)}
              </tbody>
            </table>
          </>
        ) : <p>No variables from the console.</p>}
      </div>

      <div class="card" aria-label="last refused" data-testid="fleet-refused">
        <h3>Last refused</h3>
        {fleet.lastRefused ? (
          <>
            <p>
              {fleet.lastRefused.about === 'variables' ? 'Variables' : `Revision ${fleet.lastRefused.revision ?? '(unknown)'}`} {fleet.lastRefused.outcome}
              {fleet.lastRefused.code ? ` (${fleet.lastRefused.code})` : ''} at {fleet.lastRefused.at}: {fleet.lastRefused.reason}
            </p>
            {fleet.lastRefused.errors?.length ? <ul>{fleet.lastRefused.errors.map((i) => <li key={`${i.path}:${i.message}`}><code>{i.path}</code> {i.message}</li>)}</ul> : null}
          </>
        ) : <p>None.</p>}
      </div>
    </section>
  );
}
