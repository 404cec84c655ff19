import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Loader,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { describeError } from '../api/graphql-client.js';
import { DateTime } from '../components/DateTime.js';
import { DeliveryLog } from '../components/DeliveryLog.js';
import { SecretOnce } from '../components/SecretOnce.js';
import {
  CreateWebhookEndpointDocument,
  RotateWebhookEndpointSecretDocument,
  SetWebhookEndpointEnabledDocument,
  WebhookEndpointsDocument,
  type WebhookEndpointRowFragment,
} from '../generated/graphql.js';
import { hrefs } from '../lib/router.js';
import { useSession } from '../session.js';

type Endpoint = WebhookEndpointRowFragment;

type Load = { status: 'loading' } | { status: 'error'; error: string } | { status: 'ready'; endpoints: Endpoint[] };

/** A secret just made (a new endpoint or a rotation): shown once, until dismissed. */
interface FreshSecret {
  endpoint: Endpoint;
  secret: string;
  rotated: boolean;
}

/**
 * Merchant webhook endpoints (contract: "Merchant notifications"): add one (its signing secret is
 * shown once), disable or enable it, rotate its secret, and, for the endpoint in the route, its
 * delivery log with "Redeliver".
 */
export function WebhooksPage(props: { endpointId: string | null }) {
  const { api } = useSession();
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [fresh, setFresh] = useState<FreshSecret | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.title = 'Webhooks · Operator console';
    heading.current?.focus({ preventScroll: true });
  }, []);

  useEffect(() => {
    const ctrl = new AbortController();
    api(WebhookEndpointsDocument, {}, ctrl.signal).then(
      (r) => !ctrl.signal.aborted && setLoad({ status: 'ready', endpoints: [...r.webhookEndpoints] }),
      (err) => !ctrl.signal.aborted && setLoad({ status: 'error', error: describeError(err) }),
    );
    return () => ctrl.abort();
  }, [api]);

  /** Puts an endpoint as the gateway now has it in the list (new ones first). */
  const upsert = useCallback((endpoint: Endpoint) => {
    setLoad((prev) => {
      if (prev.status !== 'ready') return prev;
      const known = prev.endpoints.some((e) => e.id === endpoint.id);
      return {
        status: 'ready',
        endpoints: known
          ? prev.endpoints.map((e) => (e.id === endpoint.id ? endpoint : e))
          : [endpoint, ...prev.endpoints],
      };
    });
  }, []);

  const act = async (id: string, run: () => Promise<void>) => {
    setBusy(id);
    setRowError(null);
    try {
      await run();
    } catch (err) {
      setRowError({ id, error: describeError(err) });
    } finally {
      setBusy(null);
    }
  };

  const setEnabled = (e: Endpoint, enabled: boolean) =>
    act(e.id, async () => {
      upsert((await api(SetWebhookEndpointEnabledDocument, { id: e.id, enabled })).updateWebhookEndpoint);
    });

  const rotate = (e: Endpoint) =>
    act(e.id, async () => {
      const r = (await api(RotateWebhookEndpointSecretDocument, { id: e.id })).rotateWebhookEndpointSecret;
      upsert(r.endpoint);
      setFresh({ endpoint: r.endpoint, secret: r.secret, rotated: true });
    });

  const endpoints = load.status === 'ready' ? load.endpoints : [];
  const selected = props.endpointId ? endpoints.find((e) => e.id === props.endpointId) : undefined;

  return (
    <Stack gap="md">
      <div>
        <Title order={1} size="h2" ref={heading} tabIndex={-1} className="page-heading">
          Webhooks
        </Title>
        <Text size="sm" c="dimmed" mt={4}>
          Every status change of a deposit is sent, signed (Standard Webhooks), to each enabled endpoint.
        </Text>
      </div>

      <AddEndpointForm
        onAdded={(endpoint, secret) => {
          upsert(endpoint);
          setFresh({ endpoint, secret, rotated: false });
        }}
      />

      {fresh && (
        <SecretOnce
          title={fresh.rotated ? 'New signing secret' : 'Endpoint added: its signing secret'}
          url={fresh.endpoint.url}
          secret={fresh.secret}
          note={
            fresh.rotated
              ? 'The old secret also signs for 24 hours, so your backend can switch without missing a delivery.'
              : undefined
          }
          onDone={() => setFresh(null)}
        />
      )}

      <Paper withBorder component="section" aria-labelledby="endpoints-heading">
        <Group justify="space-between" align="baseline" p="md" pb={0}>
          <Title order={2} size="h4" id="endpoints-heading">
            Endpoints
          </Title>
        </Group>
        {load.status === 'loading' && (
          <Group justify="center" py="xl">
            <Loader size="sm" aria-label="Loading the endpoints" />
          </Group>
        )}
        {load.status === 'error' && (
          <Alert color="red" variant="light" m="md" title="The endpoints could not be loaded">
            {load.error}
          </Alert>
        )}
        {load.status === 'ready' && endpoints.length === 0 && (
          <Text c="dimmed" ta="center" py="lg" className="webhooks-empty">
            No endpoints yet: add one above.
          </Text>
        )}
        {endpoints.length > 0 && (
          <div className="scroll-x">
            <Table className="endpoint-table card-table" verticalSpacing="xs" horizontalSpacing="md">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">URL</Table.Th>
                  <Table.Th scope="col">State</Table.Th>
                  <Table.Th scope="col">Created</Table.Th>
                  <Table.Th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {endpoints.map((e) => (
                  <Table.Tr
                    key={e.id}
                    data-endpoint-id={e.id}
                    className={e.id === props.endpointId ? 'selected-row' : undefined}
                  >
                    <Table.Td className="cell-url">
                      <span className="mono break">{e.url}</span>
                      {e.description && (
                        <Text size="xs" c="dimmed" className="break">
                          {e.description}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td className="cell-state">
                      <Badge
                        color={e.enabled ? 'teal' : 'gray'}
                        variant="light"
                        size="sm"
                        radius="sm"
                        tt="none"
                        className="endpoint-state"
                      >
                        {e.enabled ? 'Enabled' : 'Disabled'}
                      </Badge>
                      {e.disabledReason && (
                        <Text size="xs" c="dimmed" className="break">
                          {e.disabledReason}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td className="cell-created" data-label="Created">
                      <DateTime iso={e.createdAt} />
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs" justify="flex-end" className="row-actions">
                        <Button
                          component="a"
                          href={hrefs.deliveries(e.id)}
                          variant={e.id === props.endpointId ? 'light' : 'subtle'}
                          size="xs"
                          aria-current={e.id === props.endpointId ? 'page' : undefined}
                        >
                          Deliveries
                        </Button>
                        <Button
                          variant="default"
                          size="xs"
                          onClick={() => void setEnabled(e, !e.enabled)}
                          loading={busy === e.id}
                        >
                          {e.enabled ? 'Disable' : 'Enable'}
                        </Button>
                        <Button variant="default" size="xs" onClick={() => void rotate(e)} disabled={busy === e.id}>
                          Rotate secret
                        </Button>
                      </Group>
                      {rowError?.id === e.id && (
                        <Text size="xs" c="red" mt={4} role="alert">
                          {rowError.error}
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        )}
      </Paper>

      {props.endpointId && load.status === 'ready' && !selected && (
        <Alert color="yellow" variant="light" title="No such endpoint">
          This tenant has no webhook endpoint with this id.{' '}
          <Anchor href={hrefs.webhooks()} size="sm">
            All endpoints
          </Anchor>
        </Alert>
      )}
      {selected && <DeliveryLog key={selected.id} endpoint={selected} />}
    </Stack>
  );
}

/** An input labelled "URL" (and a description), and "Add endpoint". */
function AddEndpointForm(props: { onAdded(endpoint: Endpoint, secret: string): void }) {
  const { api } = useSession();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const u = url.trim();
    if (!u) {
      setError('Enter the URL the gateway should POST to.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = (await api(CreateWebhookEndpointDocument, { url: u, description: description.trim() || null }))
        .createWebhookEndpoint;
      setUrl('');
      setDescription('');
      props.onAdded(r.endpoint, r.secret);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="add-endpoint-heading">
      <Title order={2} size="h4" id="add-endpoint-heading" mb="sm">
        Add an endpoint
      </Title>
      <form onSubmit={submit} noValidate className="endpoint-form">
        <TextInput
          label="URL"
          placeholder="https://merchant.example/webhooks/deposits"
          type="url"
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
          spellCheck={false}
          autoComplete="off"
          required
          disabled={busy}
        />
        <TextInput
          label="Description (optional)"
          value={description}
          onChange={(e) => setDescription(e.currentTarget.value)}
          disabled={busy}
        />
        <Button type="submit" loading={busy}>
          Add endpoint
        </Button>
      </form>
      {error && (
        <Alert color="red" variant="light" mt="sm" role="alert">
          {error}
        </Alert>
      )}
    </Paper>
  );
}
