import { Alert, Button, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../api/graphql-client.js';
import { verifyOperatorKey } from '../api/sign-in.js';

export function SignInPage(props: { notice: string | null; onSignedIn(apiKey: string): void }) {
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Sign in · Operator console';
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const key = apiKey.trim();
    if (!key) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await verifyOperatorKey(key);
      props.onSignedIn(key);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <Paper withBorder shadow="sm" p="xl" className="signin-card">
        <form onSubmit={submit} noValidate>
          <Stack gap="md">
            <div>
              <Text size="sm" c="dimmed" fw={500}>
                Deposit gateway
              </Text>
              <Title order={1} size="h2">
                Operator console
              </Title>
            </div>
            <Text size="sm">
              Sign in with an operator API key. The key stays in this browser tab and is sent only to this gateway.
            </Text>
            {props.notice && (
              <Alert color="yellow" variant="light" role="status">
                {props.notice}
              </Alert>
            )}
            <PasswordInput
              label="API key"
              value={apiKey}
              onChange={(e) => setApiKey(e.currentTarget.value)}
              autoComplete="off"
              spellCheck={false}
              autoFocus
              required
              disabled={busy}
            />
            {error && (
              <Alert color="red" variant="light" title="Not signed in">
                {error}
              </Alert>
            )}
            <Button type="submit" loading={busy} fullWidth>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </main>
  );
}
