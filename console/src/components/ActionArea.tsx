import { Alert, Button, Group, Text } from '@mantine/core';
import { useState } from 'react';
import { describeError } from '../api/graphql-client.js';
import type { ResolutionAction } from '../generated/graphql.js';
import { ConfirmActionDialog } from './ConfirmActionDialog.js';

const ACTIONS: Record<
  ResolutionAction,
  { label: string; title: string; description: string; referenceLabel?: string; done: string }
> = {
  CREDIT: {
    label: 'Credit',
    title: 'Credit this deposit',
    description: "Credits the amount received to the user's balance, once. The deposit becomes COMPLETED.",
    referenceLabel: 'Reference (optional)',
    done: 'Credited',
  },
  MARK_REFUNDED: {
    label: 'Mark refunded',
    title: 'Mark this deposit refunded',
    description: 'Records that the money went back to the payer outside the gateway. Nothing is credited.',
    referenceLabel: 'Refund reference (optional)',
    done: 'Marked refunded',
  },
  REVERSE: {
    label: 'Reverse',
    title: 'Reverse this deposit',
    description:
      "Debits what this deposit credited from the user's balance. The deposit becomes REVERSED; this is final.",
    referenceLabel: 'Reference (optional)',
    done: 'Reversed',
  },
};

/** What the action area reads of the deposit (DepositDetail). */
export interface ActionFields {
  /** What this operator may do now (empty for other keys). */
  availableActions: readonly ResolutionAction[];
  /** Whether the deposit's provider has a status API. */
  syncable: boolean;
}

/**
 * What the page does for each button; each resolves once the page shows the deposit's new state,
 * with that state's status (said back to the operator).
 */
export interface DepositActionHandlers {
  resolve(action: ResolutionAction, input: { reason: string; reference: string | null }): Promise<string>;
  sync(): Promise<string>;
}

export function ActionArea(props: { deposit: ActionFields; handlers: DepositActionHandlers }) {
  const { deposit, handlers } = props;
  const [open, setOpen] = useState<ResolutionAction | null>(null);
  const [syncing, setSyncing] = useState(false);
  const [syncError, setSyncError] = useState<string | null>(null);
  /** What the last action did, in words (the page shows the new status too). */
  const [done, setDone] = useState<string | null>(null);

  const actions = deposit.availableActions;
  const canSync = deposit.syncable;

  const outcome = done && (
    <Alert color="teal" variant="light" role="status" className="action-outcome" mt="sm">
      {done}
    </Alert>
  );

  if (actions.length === 0 && !canSync) {
    return (
      <>
        <Text size="sm" c="dimmed">
          No actions are available for this deposit.
        </Text>
        {outcome}
      </>
    );
  }

  const sync = async () => {
    setSyncing(true);
    setSyncError(null);
    setDone(null);
    try {
      const status = await handlers.sync();
      setDone(`Synced with the provider: the deposit is ${status}.`);
    } catch (err) {
      setSyncError(describeError(err));
    } finally {
      setSyncing(false);
    }
  };

  const resolve = async (action: ResolutionAction, input: { reason: string; reference: string | null }) => {
    const status = await handlers.resolve(action, input);
    setDone(`${ACTIONS[action].done}: the deposit is ${status}.`);
  };

  const current = open ? ACTIONS[open] : null;
  return (
    <>
      <Group gap="sm">
        {actions.map((a) => (
          <Button
            key={a}
            variant={a === 'REVERSE' ? 'outline' : 'filled'}
            color={a === 'REVERSE' ? 'red' : undefined}
            onClick={() => {
              setDone(null);
              setOpen(a);
            }}
          >
            {ACTIONS[a].label}
          </Button>
        ))}
        {canSync && (
          <Button variant="default" onClick={sync} loading={syncing}>
            Sync
          </Button>
        )}
      </Group>
      {syncError && (
        <Alert color="red" variant="light" mt="sm">
          {syncError}
        </Alert>
      )}
      {outcome}
      <ConfirmActionDialog
        opened={open !== null}
        title={current?.title ?? ''}
        description={current?.description}
        referenceLabel={current?.referenceLabel}
        onClose={() => setOpen(null)}
        onConfirm={(input) => (open ? resolve(open, input) : Promise.resolve())}
      />
    </>
  );
}
