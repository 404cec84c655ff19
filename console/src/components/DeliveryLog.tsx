import { Alert, Badge, Button, Group, Loader, Paper, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from '../api/graphql-client.js';
import {
  RedeliverWebhookDocument,
  WebhookDeliveriesDocument,
  type DeliveryStatus,
  type WebhookDeliveryRowFragment,
  type WebhookEndpointRowFragment,
} from '../generated/graphql.js';
import { useSession } from '../session.js';
import { DateTime } from './DateTime.js';

type Delivery = WebhookDeliveryRowFragment;

const PAGE_SIZE = 20;
/** While a delivery shown is PENDING, the log is read again this often. */
const PENDING_POLL_MS = 2000;

const DELIVERY_COLORS: Record<DeliveryStatus, string> = { PENDING: 'yellow', SUCCEEDED: 'teal', FAILED: 'red' };

interface State {
  rows: Delivery[];
  hasNextPage: boolean;
  endCursor: string | null;
  status: 'loading' | 'ready' | 'error';
  error: string | null;
}

/**
 * One endpoint's deliveries, newest first: each status change sent to it, its attempts and the
 * last answer, and "Redeliver" (sent again now, with the same webhook-id). Kept current: read
 * again when a deposit changes (each change makes a delivery) and while a delivery is pending.
 */
export function DeliveryLog(props: { endpoint: WebhookEndpointRowFragment }) {
  const { api, live } = useSession();
  const { endpoint } = props;
  const [state, setState] = useState<State>({
    rows: [],
    hasNextPage: false,
    endCursor: null,
    status: 'loading',
    error: null,
  });
  const [redelivering, setRedelivering] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: string } | null>(null);
  const shown = useRef(PAGE_SIZE);

  // Reads the first `shown` deliveries again (what the operator has loaded so far); only the
  // answer to the latest read is kept.
  const latest = useRef(0);
  const refresh = useCallback(async () => {
    const seq = ++latest.current;
    try {
      const r = await api(WebhookDeliveriesDocument, { endpointId: endpoint.id, first: Math.min(shown.current, 100) });
      if (seq !== latest.current) return;
      const c = r.webhookDeliveries;
      setState({
        rows: c.edges.map((e) => e.node),
        hasNextPage: c.pageInfo.hasNextPage,
        endCursor: c.pageInfo.endCursor ?? null,
        status: 'ready',
        error: null,
      });
    } catch (err) {
      if (seq !== latest.current) return;
      setState((prev) =>
        prev.status === 'ready'
          ? { ...prev, error: describeError(err) }
          : { ...prev, status: 'error', error: describeError(err) },
      );
    }
  }, [api, endpoint.id]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // A status change makes a delivery to every enabled endpoint: read the log again shortly after.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = live.onChange(() => {
      clearTimeout(timer);
      timer = setTimeout(() => void refresh(), 300);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [live, refresh]);

  const pending = state.rows.some((d) => d.status === 'PENDING');
  useEffect(() => {
    if (!pending) return;
    const t = setInterval(() => void refresh(), PENDING_POLL_MS);
    return () => clearInterval(t);
  }, [pending, refresh]);

  const loadMore = async () => {
    const seq = ++latest.current;
    try {
      const r = await api(WebhookDeliveriesDocument, {
        endpointId: endpoint.id,
        first: PAGE_SIZE,
        after: state.endCursor,
      });
      if (seq !== latest.current) return;
      const c = r.webhookDeliveries;
      setState((prev) => {
        const known = new Set(prev.rows.map((d) => d.id));
        const rows = [...prev.rows, ...c.edges.map((e) => e.node).filter((d) => !known.has(d.id))];
        shown.current = rows.length;
        return { ...prev, rows, hasNextPage: c.pageInfo.hasNextPage, endCursor: c.pageInfo.endCursor ?? null };
      });
    } catch (err) {
      if (seq === latest.current) setState((prev) => ({ ...prev, error: describeError(err) }));
    }
  };

  const redeliver = async (d: Delivery) => {
    setRedelivering(d.id);
    setRowError(null);
    try {
      const next = (await api(RedeliverWebhookDocument, { deliveryId: d.id })).redeliverWebhook;
      latest.current++;
      setState((prev) => ({ ...prev, rows: prev.rows.map((r) => (r.id === next.id ? next : r)) }));
    } catch (err) {
      setRowError({ id: d.id, error: describeError(err) });
    } finally {
      setRedelivering(null);
    }
  };

  return (
    <Paper withBorder component="section" aria-labelledby="deliveries-heading" className="delivery-log">
      <Group justify="space-between" align="baseline" p="md" pb={0} wrap="wrap">
        <div className="min-w-0">
          <Title order={2} size="h4" id="deliveries-heading">
            Deliveries
          </Title>
          <Text size="xs" c="dimmed" className="mono break">
            {endpoint.url}
          </Text>
        </div>
        <Button variant="default" size="xs" onClick={() => void refresh()}>
          Refresh
        </Button>
      </Group>
      {state.status === 'loading' && (
        <Group justify="center" py="xl">
          <Loader size="sm" aria-label="Loading the deliveries" />
        </Group>
      )}
      {state.error && (
        <Alert color="red" variant="light" m="md" title="The deliveries could not be loaded">
          {state.error}
        </Alert>
      )}
      {state.status === 'ready' && state.rows.length === 0 && (
        <Text c="dimmed" ta="center" py="lg">
          Nothing sent to this endpoint yet: a delivery is made for each status change of a deposit.
        </Text>
      )}
      {state.rows.length > 0 && (
        <div className="scroll-x">
          <Table className="delivery-table card-table" verticalSpacing="xs" horizontalSpacing="md">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Event</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col" className="num">
                  Attempts
                </Table.Th>
                <Table.Th scope="col">Last answer</Table.Th>
                <Table.Th scope="col">Last attempt</Table.Th>
                <Table.Th scope="col">Next attempt</Table.Th>
                <Table.Th scope="col">
                  <span className="visually-hidden">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {state.rows.map((d) => (
                <Table.Tr key={d.id} data-delivery-id={d.id}>
                  <Table.Td>
                    <Text size="sm">{d.eventType}</Text>
                    <Text size="xs" c="dimmed" className="mono break">
                      {d.eventId}
                    </Text>
                  </Table.Td>
                  <Table.Td className="cell-delivery-status">
                    <Badge color={DELIVERY_COLORS[d.status]} variant="light" size="sm" radius="sm" tt="none">
                      {d.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td className="num cell-attempts" data-label="Attempts">
                    {d.attempts}
                  </Table.Td>
                  <Table.Td className="cell-answer">
                    {d.lastResponseStatus != null && <Text size="sm">HTTP {d.lastResponseStatus}</Text>}
                    {d.lastError && (
                      <Text size="xs" c="dimmed" className="break">
                        {d.lastError}
                      </Text>
                    )}
                    {d.lastResponseStatus == null && !d.lastError && '—'}
                  </Table.Td>
                  <Table.Td className="nowrap" data-label="Last attempt">
                    <DateTime iso={d.lastAttemptAt} />
                  </Table.Td>
                  <Table.Td className="nowrap" data-label="Next attempt">
                    <DateTime iso={d.nextAttemptAt} />
                  </Table.Td>
                  <Table.Td>
                    <Button
                      variant="default"
                      size="xs"
                      onClick={() => void redeliver(d)}
                      loading={redelivering === d.id}
                    >
                      Redeliver
                    </Button>
                    {rowError?.id === d.id && (
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
      {state.hasNextPage && (
        <Group justify="center" p="md">
          <Button variant="default" onClick={() => void loadMore()}>
            Load more
          </Button>
        </Group>
      )}
    </Paper>
  );
}
