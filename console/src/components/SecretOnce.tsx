import { Alert, Button, CopyButton, Group, Stack, Text } from '@mantine/core';

/**
 * A signing secret, shown the one time the gateway gives it: the operator copies it to the
 * merchant's backend now, since it cannot be read again (only rotated).
 */
export function SecretOnce(props: { title: string; url: string; secret: string; note?: string; onDone(): void }) {
  return (
    <Alert color="yellow" variant="light" title={props.title} className="secret-once" role="status">
      <Stack gap="xs">
        <Text size="sm">
          For <span className="mono break">{props.url}</span>. It is shown only now: store it where the merchant&apos;s
          backend verifies the webhooks (<code>webhook-signature</code>).
        </Text>
        <code className="secret-value break" aria-label="Signing secret">
          {props.secret}
        </code>
        {props.note && <Text size="sm">{props.note}</Text>}
        <Group gap="sm">
          <CopyButton value={props.secret}>
            {({ copied, copy }) => (
              <Button size="xs" variant="light" onClick={copy}>
                {copied ? 'Copied' : 'Copy'}
              </Button>
            )}
          </CopyButton>
          <Button size="xs" variant="default" onClick={props.onDone}>
            Done, hide it
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}
