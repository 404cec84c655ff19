import { Text } from '@mantine/core';
import type { TimelineEventFragment } from '../generated/graphql.js';
import { formatMoney } from '../lib/format.js';
import { DateTime } from './DateTime.js';
import { StatusBadge } from './StatusBadge.js';

export type TimelineEntry = TimelineEventFragment;

/**
 * Every event of the deposit, oldest first, as an ordered list: what the provider said
 * (provider status, amount), the status that maps to (not always the deposit's: a payment that
 * maps to COMPLETED leaves an underpaid deposit REJECTED), when, and where it came from (the
 * audit trail): its source (WEBHOOK, SYNC, OPERATOR, SYSTEM) and, for an operator's resolution,
 * the key's label (actor), the reason and the reference given. All of it is shown as text.
 */
export function Timeline(props: { events: readonly TimelineEntry[] }) {
  if (props.events.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        No events yet: nothing has been reported for this deposit.
      </Text>
    );
  }
  return (
    <ol className="timeline">
      {props.events.map((e) => (
        <li key={e.id} className="timeline-item" data-status={e.status}>
          <div className="timeline-head">
            <code className="provider-status">{e.providerStatus}</code>
            <span className="timeline-maps"> maps to </span>
            <StatusBadge status={e.status} />
          </div>
          <dl className="timeline-facts">
            <div>
              <dt>Source</dt>
              <dd>{e.source}</dd>
            </div>
            <div>
              <dt>Occurred</dt>
              <dd>
                <DateTime iso={e.occurredAt} />
              </dd>
            </div>
            {e.amount != null && (
              <div>
                <dt>Amount</dt>
                <dd>{formatMoney(e.amount, e.currency)}</dd>
              </div>
            )}
            {e.fee != null && (
              <div>
                <dt>Fee</dt>
                <dd>{formatMoney(e.fee, e.currency)}</dd>
              </div>
            )}
            {e.network && (
              <div>
                <dt>Network</dt>
                <dd>{e.network}</dd>
              </div>
            )}
            {e.txHash && (
              <div>
                <dt>Transaction</dt>
                <dd className="mono break">{e.txHash}</dd>
              </div>
            )}
            {e.actor && (
              <div>
                <dt>Actor</dt>
                <dd>{e.actor}</dd>
              </div>
            )}
            {e.reason && (
              <div className="wide">
                <dt>Reason</dt>
                <dd className="break">{e.reason}</dd>
              </div>
            )}
            {e.reference && (
              <div>
                <dt>Reference</dt>
                <dd className="break">{e.reference}</dd>
              </div>
            )}
            <div>
              <dt>Received</dt>
              <dd>
                <DateTime iso={e.receivedAt} />
              </dd>
            </div>
          </dl>
        </li>
      ))}
    </ol>
  );
}
