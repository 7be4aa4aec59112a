/** Live VPN sessions of every protocol, with disconnect. */
import { useEffect, useState } from 'preact/hooks';
import { useConfirm } from '../confirm.tsx';
import { api, describe } from '../api.ts';
import { bytes, Message, since } from '../ui.tsx';

interface Session {
  id: string;
  protocol: string;
  user?: string;
  address?: string;
  /** Issue 20: a PPP session's own /64 (or /128). */
  ipv6?: string;
  peer: string;
  since: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn?: number;
  packetsOut?: number;
  /** Issue 21: who checked the password, and the RADIUS Class. */
  auth?: 'local' | 'radius';
  radiusServer?: string;
  class?: string;
}

/** Protocols whose sessions carry a warning badge, with the reason in its title (issue 22). */
const INSECURE: Record<string, string> = { pptp: 'PPTP: MS-CHAPv2 and MPPE can be broken offline' };

export function SessionsView() {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [message, setMessage] = useState<string>();
  const { ask, dialog } = useConfirm();
  const load = async () => setSessions((await api<{ sessions: Session[] }>('GET', '/sessions')).sessions);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load().catch(() => undefined), 3000);
    return () => clearInterval(timer);
  }, []);
  const disconnect = async (s: Session) => {
    const who = s.user ?? s.peer;
    const yes = await ask({ title: `Disconnect ${who}?`, action: `Disconnect ${who}`, danger: true, body: <p>The {s.protocol.toUpperCase()} session from {s.peer} ends now. The client may dial again at once unless the user is disabled.</p> });
    if (!yes) return;
    try {
      await api('DELETE', `/sessions/${encodeURIComponent(s.id)}`);
      setMessage(`${s.user ?? s.id} disconnected`);
      await load();
    } catch (error) {
      setMessage(describe(error));
    }
  };
  return (
    <section class="card" aria-label="sessions">
      <h2>Sessions</h2>
      <Message text={message} kind="ok" />
      {dialog}
      {sessions.length === 0 ? <p>No one is connected.</p> : (
        <table>
          <thead><tr><th>User</th><th>Protocol</th><th>Address</th><th>From</th><th>Since</th><th>Traffic</th><th>Authenticated by</th><th /></tr></thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} data-session={s.id}>
                <td>{s.user ?? '–'}</td><td>{s.protocol}{INSECURE[s.protocol] ? <span class="badge warn" title={INSECURE[s.protocol]}>insecure</span> : null}</td><td>{s.address ?? '–'}{s.ipv6 ? <><br /><small>{s.ipv6}</small></> : null}</td><td>{s.peer}</td><td>{since(s.since)}</td>
                <td>{bytes(s.bytesIn)} / {bytes(s.bytesOut)}</td>
                <td data-auth={s.auth ?? 'local'}>{s.auth === 'radius' ? `RADIUS ${s.radiusServer ?? ''}` : 'local users'}{s.class ? <small class="hint" data-class> Class {s.class}</small> : null}</td>
                <td><button class="danger" onClick={() => disconnect(s)}>Disconnect</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
