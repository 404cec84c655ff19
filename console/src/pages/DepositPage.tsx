import { Alert, Anchor, Group, Loader, Paper, Stack, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from '../api/graphql-client.js';
import { ActionArea, type DepositActionHandlers } from '../components/ActionArea.js';
import { DepositFields } from '../components/DepositFields.js';
import { NeedsAttentionMark } from '../components/NeedsAttentionMark.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Timeline } from '../components/Timeline.js';
import {
  DepositPageDocument,
  ResolveDepositDocument,
  SyncDepositDocument,
  type DepositDetailFragment,
} from '../generated/graphql.js';
import { hrefs } from '../lib/router.js';
import { useSession } from '../session.js';

type Detail = DepositDetailFragment;

type Load =
  | { status: 'loading' }
  | { status: 'missing' }
  | { status: 'error'; error: string }
  | { status: 'ready'; deposit: Detail };

/** One deposit: its fields, the actions an operator may take, and its timeline, kept current live. */
export function DepositPage(props: { id: string }) {
  const { api, live } = useSession();
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const heading = useRef<HTMLHeadingElement>(null);

  // Changes can come in bursts: only the answer to the latest read is shown.
  const latest = useRef(0);
  const fetchDeposit = useCallback(
    async (signal?: AbortSignal) => {
      const seq = ++latest.current;
      try {
        const r = await api(DepositPageDocument, { id: props.id }, signal);
        if (signal?.aborted || seq !== latest.current) return;
        setLoad(r.deposit ? { status: 'ready', deposit: r.deposit } : { status: 'missing' });
      } catch (err) {
        if (signal?.aborted || seq !== latest.current) return;
        // Keep showing what was loaded when a refresh fails; say so only when there is nothing.
        setLoad((prev) => (prev.status === 'ready' ? prev : { status: 'error', error: describeError(err) }));
      }
    },
    [api, props.id],
  );

  useEffect(() => {
    const ctrl = new AbortController();
    void fetchDeposit(ctrl.signal);
    return () => ctrl.abort();
  }, [fetchDeposit]);

  // A change of this deposit: read it again (the change carries the row, the page wants the timeline).
  useEffect(
    () =>
      live.onChange((change) => {
        if (change.deposit.id === props.id) void fetchDeposit();
      }),
    [live, props.id, fetchDeposit],
  );

  useEffect(() => {
    document.title = `Deposit ${props.id} · Operator console`;
    heading.current?.focus({ preventScroll: true });
  }, [props.id]);

  // Each mutation answers with the deposit as it now is: shown at once (a read in flight, older,
  // is dropped), and the live change that follows reads it again.
  const show = useCallback((deposit: Detail) => {
    latest.current++;
    setLoad({ status: 'ready', deposit });
    return deposit.status;
  }, []);
  const handlers: DepositActionHandlers = {
    resolve: async (action, input) =>
      show((await api(ResolveDepositDocument, { id: props.id, action, ...input })).resolveDeposit),
    sync: async () => show((await api(SyncDepositDocument, { id: props.id })).syncDeposit),
  };

  return (
    <Stack gap="md">
      <Anchor href={hrefs.deposits()} size="sm" className="back-link">
        ← All deposits
      </Anchor>
      <div className="deposit-title">
        <Title order={1} size="h2" ref={heading} tabIndex={-1} className="page-heading">
          Deposit
        </Title>
        <code className="deposit-id">{props.id}</code>
        {load.status === 'ready' && (
          <Group gap="xs">
            <StatusBadge status={load.deposit.status} size="lg" />
            <NeedsAttentionMark deposit={load.deposit} />
          </Group>
        )}
      </div>

      {load.status === 'loading' && (
        <Group justify="center" py="xl">
          <Loader size="sm" aria-label="Loading the deposit" />
        </Group>
      )}
      {load.status === 'missing' && (
        <Alert color="yellow" variant="light" title="No such deposit">
          No deposit of this tenant has this id.
        </Alert>
      )}
      {load.status === 'error' && (
        <Alert color="red" variant="light" title="The deposit could not be loaded">
          {load.error}
        </Alert>
      )}
      {load.status === 'ready' && (
        <div className="deposit-layout">
          <Paper withBorder p="md" component="section" aria-labelledby="details-heading">
            <Title order={2} size="h4" id="details-heading" mb="sm">
              Details
            </Title>
            <DepositFields deposit={load.deposit} />
          </Paper>
          <Stack gap="md">
            <Paper withBorder p="md" component="section" aria-labelledby="actions-heading">
              <Title order={2} size="h4" id="actions-heading" mb="sm">
                Actions
              </Title>
              <ActionArea deposit={load.deposit} handlers={handlers} />
            </Paper>
            <Paper withBorder p="md" component="section" aria-labelledby="timeline-heading">
              <Group justify="space-between" align="baseline" mb="sm">
                <Title order={2} size="h4" id="timeline-heading">
                  Timeline
                </Title>
                <Text size="xs" c="dimmed">
                  {load.deposit.events.length === 1 ? '1 event' : `${load.deposit.events.length} events`}, oldest first
                </Text>
              </Group>
              <Timeline events={load.deposit.events} />
            </Paper>
          </Stack>
        </div>
      )}
    </Stack>
  );
}
