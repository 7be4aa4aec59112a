/** The field technician's UI: first boot, login, then one page per area, routed by the URL hash. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf } from './api.ts';
import { SafeModeBanner } from './safe-mode.tsx';
import { LoginView, SetupView, type SetupSuggestion } from './views/auth.tsx';
import { CertificatesView } from './views/certificates.tsx';
import { DashboardView } from './views/dashboard.tsx';
import { FleetView } from './views/fleet.tsx';
import { FirmwareView } from './views/firmware.tsx';
import { HistoryView } from './views/history.tsx';
import { LogsView } from './views/logs.tsx';
import { MaintenanceView } from './views/maintenance.tsx';
import { ProblemsView } from './views/problems.tsx';
import { RadiusView } from './views/radius.tsx';
import { SessionsView } from './views/sessions.tsx';
import { SettingsView } from './views/settings.tsx';
import { SitesView } from './views/sites.tsx';
import { UsersView } from './views/users.tsx';

const PAGES = [
  ['dashboard', 'Dashboard', DashboardView],
  ['sessions', 'Sessions', SessionsView],
  ['problems', 'Connection problems', ProblemsView],
  ['users', 'Users', UsersView],
  ['radius', 'RADIUS', RadiusView],
  ['sites', 'Sites', SitesView],
  ['certificates', 'Certificates', CertificatesView],
  ['settings', 'Settings', SettingsView],
  ['fleet', 'Fleet', FleetView],
  ['logs', 'Logs', LogsView],
  ['maintenance', 'Maintenance', MaintenanceView],
  ['firmware', 'Firmware', FirmwareView],
  ['history', 'History', HistoryView],
] as const;

type Phase = 'loading' | 'setup' | 'login' | 'app';

function App() {
  const [phase, setPhase] = useState<Phase>('loading');
  // #page or #page?query: the query is the page's own (e.g. #problems?site=branch&problem=7).
  const pageOf = () => location.hash.slice(1).split('?')[0] || 'dashboard';
  const [page, setPage] = useState(pageOf());
  const [suggestion, setSuggestion] = useState<SetupSuggestion>();
  const check = async () => {
    const setup = await api<{ needed: boolean; suggestion?: SetupSuggestion }>('GET', '/setup');
    if (setup.needed) {
      setSuggestion(setup.suggestion);
      return setPhase('setup');
    }
    try {
      setCsrf((await api<{ csrfToken: string }>('GET', '/session')).csrfToken);
      setPhase('app');
    } catch {
      setPhase('login');
    }
  };
  useEffect(() => {
    void check();
    const onHash = () => setPage(pageOf());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const logout = async () => {
    await api('POST', '/logout').catch(() => undefined);
    setPhase('login');
  };
  if (phase === 'loading') return <p class="centered">Loading…</p>;
  if (phase === 'setup') return <SetupView done={() => setPhase('login')} suggestion={suggestion} />;
  if (phase === 'login') return <LoginView done={() => setPhase('app')} />;
  const View = (PAGES.find(([id]) => id === page) ?? PAGES[0])[2];
  return (
    <>
      <nav>
        <strong>Postern</strong>
        {PAGES.map(([id, label]) => <a key={id} href={`#${id}`} class={id === page ? 'active' : ''} aria-current={id === page ? 'page' : undefined}>{label}</a>)}
        <button class="link" onClick={logout}>Log out</button>
      </nav>
      <SafeModeBanner />
      <main><View /></main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
