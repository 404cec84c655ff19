import { useCallback, useState } from 'react';
import { forgetApiKey, loadApiKey, saveApiKey } from './api/session.js';
import { ConsoleShell } from './components/ConsoleShell.js';
import { SignInPage } from './pages/SignInPage.js';
import { SessionProvider } from './session.js';

/** Signed out: the sign-in form. Signed in: the console, until "Sign out" or a refused key. */
export function App() {
  const [apiKey, setApiKey] = useState<string | null>(loadApiKey);
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = useCallback((key: string) => {
    saveApiKey(key);
    setNotice(null);
    setApiKey(key);
  }, []);

  const signOut = useCallback((why?: string) => {
    forgetApiKey();
    setNotice(why ?? null);
    setApiKey(null);
    // Back to the list for the next sign-in; no history entry, no reload.
    history.replaceState(null, '', location.pathname + location.search);
  }, []);

  if (!apiKey) return <SignInPage notice={notice} onSignedIn={signIn} />;
  return (
    <SessionProvider key={apiKey} apiKey={apiKey} onSignOut={signOut}>
      <ConsoleShell />
    </SessionProvider>
  );
}
