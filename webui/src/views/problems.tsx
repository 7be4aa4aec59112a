/** The connection doctor (issue 17): failed connection attempts, each explained with the client's error and the fix. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describe } from '../api.ts';
import { Field, Message } from '../ui.tsx';

interface Problem {
  id: number;
  time: string;
  protocol: string;
  stage: string;
  cause: string;
  detail: string;
  explanation: string;
  client: { windows?: string; apple?: string; android?: string };
  fix: string;
  user?: string;
  site?: string;
  peer?: string;
  source?: string;
  /** The same refusal repeated: how many times, and the last (time is the first). */
  count?: number;
  lastTime?: string;
}

/**
 * `#problems?site=branch&problem=7`: the Sites page links a site's last error to its entry;
 * `#problems?user=alice`: the Users page links a user's failed attempts.
 */
const linked = (): { site: string; user: string; problem: number | undefined } => {
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const problem = Number(query.get('problem'));
  return { site: query.get('site') ?? '', user: query.get('user') ?? '', problem: Number.isInteger(problem) && problem > 0 ? problem : undefined };
};

const STAGES: Record<string, string> = {
  'ike-init': 'first contact (IKE_SA_INIT)',
  'ike-auth': 'login (IKE_AUTH)',
  eap: 'user name and password (EAP)',
  child: 'traffic tunnel (child SA)',
  tls: 'TLS',
  'sstp-call': 'SSTP call set-up',
  'l2tp-tunnel': 'L2TP tunnel',
  'ppp-lcp': 'PPP link (LCP)',
  'ppp-auth': 'user name and password (PPP)',
  'ppp-ncp': 'IP settings (IPCP)',
};

const who = (p: Problem): string => (p.site ? `site ${p.site}` : p.user ?? p.peer ?? 'unknown');

export function ProblemsView() {
  const [problems, setProblems] = useState<Problem[]>([]);
  const [user, setUser] = useState(() => linked().user);
  const [site, setSite] = useState(() => linked().site);
  const [message, setMessage] = useState<string>();
  // The linked entry is brought into view and focused once, when it first shows.
  const [target] = useState(() => linked().problem);
  const shown = useRef(false);
  useEffect(() => {
    if (target === undefined || shown.current) return;
    const li = document.querySelector<HTMLElement>(`li[data-problem="${target}"]`);
    if (!li) return;
    shown.current = true;
    li.scrollIntoView({ block: 'center' });
    li.focus();
  }, [problems]);
  const load = async () => {
    const query = new URLSearchParams();
    if (user.trim()) query.set('user', user.trim());
    if (site.trim()) query.set('site', site.trim());
    const q = query.toString();
    try {
      setProblems((await api<{ problems: Problem[] }>('GET', `/problems${q ? `?${q}` : ''}`)).problems);
      setMessage(undefined);
    } catch (error) {
      setMessage(describe(error));
    }
  };
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, [user, site]);
  return (
    <section class="card" aria-label="connection problems">
      <h2>Connection problems</h2>
      <p class="hint">Failed connection attempts, newest first: what went wrong, what the client shows, and how to fix it.</p>
      <div class="filters">
        <Field label="User"><input name="user" value={user} onInput={(e) => setUser(e.currentTarget.value)} placeholder="all users" /></Field>
        <Field label="Site"><input name="site" value={site} onInput={(e) => setSite(e.currentTarget.value)} placeholder="all sites" /></Field>
      </div>
      <Message text={message} />
      {problems.length === 0 ? <p>No failed connection attempts.</p> : (
        <ol class="problems">
          {problems.map((p) => (
            <li key={p.id} class={p.id === target ? 'problem target' : 'problem'} data-problem={p.id} data-cause={p.cause} tabIndex={p.id === target ? -1 : undefined} aria-current={p.id === target ? 'true' : undefined}>
              <header>
                <strong>{who(p)}</strong>
                <span>{p.protocol === 'ikev2' ? 'IKEv2' : p.protocol.toUpperCase()}</span>
                {p.source ? <span>from {p.source}</span> : null}
                <time dateTime={p.time}>{new Date(p.time).toLocaleString()}</time>
                {p.count && p.count > 1 && p.lastTime ? <span data-count={p.count}>{p.count} times, last <time dateTime={p.lastTime}>{new Date(p.lastTime).toLocaleString()}</time></span> : null}
              </header>
              <p class="explanation">Failed at {STAGES[p.stage] ?? p.stage}: {p.explanation}</p>
              {/* A site is another gateway: no client screen to quote. */}
              {!p.site && (p.client.windows || p.client.apple || p.client.android) ? (
                <dl class="client">
                  {p.client.windows ? <><dt>Windows shows</dt><dd>{p.client.windows}</dd></> : null}
                  {p.client.apple ? <><dt>iPhone / Mac shows</dt><dd>{p.client.apple}</dd></> : null}
                  {p.client.android ? <><dt>Android shows</dt><dd>{p.client.android}</dd></> : null}
                </dl>
              ) : null}
              <p class="fix"><strong>Fix:</strong> {p.fix}</p>
              <details><summary>Gateway log line</summary><code>{p.detail}</code></details>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
