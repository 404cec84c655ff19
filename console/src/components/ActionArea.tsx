import { Alert, Button, Group, Text } from '@mantine/core';
import { useState } from 'react';
import { describeError } from '../api/graphql-client.js';
import { ConfirmActionDialog } from './ConfirmActionDialog.js';

/** The resolutions of the contract ("Operators resolve exception money"); the generated `ResolutionAction` once it exists. */
export type ResolutionActionName = 'CREDIT' | 'MARK_REFUNDED' | 'REVERSE';

const ACTIONS: Record<
  ResolutionActionName,
  { label: string; title: string; description: string; referenceLabel?: string }
> = {
  CREDIT: {
    label: 'Credit',
    title: 'Credit this deposit',
    description: "Credits the amount received to the user's balance, once. The deposit becomes COMPLETED.",
  },
  MARK_REFUNDED: {
    label: 'Mark refunded',
    title: 'Mark this deposit refunded',
    description: 'Records that the money went back to the payer outside the gateway. Nothing is credited.',
    referenceLabel: 'Refund reference (optional)',
  },
  REVERSE: {
    label: 'Reverse',
    title: 'Reverse this deposit',
    description:
      "Debits what this deposit credited from the user's balance. The deposit becomes REVERSED; this is final.",
  },
};

/** The operator fields the action area reads; optional until DepositDetail selects them. */
export interface ActionFields {
  availableActions?: readonly ResolutionActionName[] | null;
  syncable?: boolean | null;
}

/**
 * What the gateway lets the page do. Today's schema has neither mutation, so DepositPage passes
 * none and the area says so; with `resolveDeposit` and `syncDeposit`, DepositPage passes both
 * (each resolves once the page shows the deposit's new state).
 */
export interface DepositActionHandlers {
  resolve?(action: ResolutionActionName, input: { reason: string; reference: string | null }): Promise<void>;
  sync?(): Promise<void>;
}

export function ActionArea(props: { deposit: ActionFields; handlers: DepositActionHandlers }) {
  const { deposit, handlers } = props;
  const [open, setOpen] = useState<ResolutionActionName | null>(null);
  const [syncing, setSyncing] = useState(false);
  const [syncError, setSyncError] = useState<string | null>(null);

  const resolve = handlers.resolve;
  const actions = resolve ? (deposit.availableActions ?? []) : [];
  const canSync = Boolean(handlers.sync && deposit.syncable);

  if (actions.length === 0 && !canSync) {
    return (
      <Text size="sm" c="dimmed">
        No actions are available for this deposit.
      </Text>
    );
  }

  const sync = async () => {
    if (!handlers.sync) return;
    setSyncing(true);
    setSyncError(null);
    try {
      await handlers.sync();
    } catch (err) {
      setSyncError(describeError(err));
    } finally {
      setSyncing(false);
    }
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
            onClick={() => setOpen(a)}
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
      <ConfirmActionDialog
        opened={open !== null}
        title={current?.title ?? ''}
        description={current?.description}
        referenceLabel={current?.referenceLabel}
        onClose={() => setOpen(null)}
        onConfirm={(input) => (open && resolve ? resolve(open, input) : Promise.resolve())}
      />
    </>
  );
}
