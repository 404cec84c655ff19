import { Alert, Button, Group, Modal, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../api/graphql-client.js';

export const REASON_MAX_LENGTH = 500;

export interface ConfirmActionDialogProps {
  opened: boolean;
  /** e.g. "Credit this deposit" */
  title: string;
  /** What the action does, in a sentence. */
  description?: string;
  /** Ask for an outside reference as well (a refund transaction, a ticket): its label. */
  referenceLabel?: string;
  onClose(): void;
  /** Runs the action; a rejection is shown in the dialog, which stays open. */
  onConfirm(input: { reason: string; reference: string | null }): Promise<void>;
}

/**
 * The dialog every operator action goes through: a reason (required, 1..500 characters, as
 * `resolveDeposit` wants it), then "Confirm". It closes when the action succeeded.
 */
export function ConfirmActionDialog(props: ConfirmActionDialogProps) {
  const [reason, setReason] = useState('');
  const [reference, setReference] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (props.opened) {
      setReason('');
      setReference('');
      setError(null);
      setBusy(false);
    }
  }, [props.opened]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const text = reason.trim();
    if (!text) {
      setError('Give a reason.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm({ reason: text, reference: reference.trim() || null });
      setBusy(false);
      props.onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <Modal opened={props.opened} onClose={() => !busy && props.onClose()} title={props.title}>
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          {props.description && <Text size="sm">{props.description}</Text>}
          <Textarea
            label="Reason"
            description="Kept in the deposit's timeline with your key's label"
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            maxLength={REASON_MAX_LENGTH}
            autosize
            minRows={2}
            required
            data-autofocus
            disabled={busy}
          />
          {props.referenceLabel && (
            <TextInput
              label={props.referenceLabel}
              value={reference}
              onChange={(e) => setReference(e.currentTarget.value)}
              disabled={busy}
            />
          )}
          {error && (
            <Alert color="red" variant="light">
              {error}
            </Alert>
          )}
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={props.onClose} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" loading={busy} disabled={!reason.trim()}>
              Confirm
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
