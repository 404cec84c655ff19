import { Anchor } from '@mantine/core';
import type { ReactNode } from 'react';
import type { DepositDetailFragment } from '../generated/graphql.js';
import { formatAsked, formatMoney } from '../lib/format.js';
import { DateTime } from './DateTime.js';

/** A link only for http(s) URLs; anything else (a provider could send `javascript:`) stays text. */
function SafeUrl(props: { url: string | null }) {
  if (!props.url) return <>—</>;
  let http = false;
  try {
    http = ['http:', 'https:'].includes(new URL(props.url).protocol);
  } catch {
    http = false;
  }
  return http ? (
    <Anchor href={props.url} target="_blank" rel="noopener noreferrer" className="break" size="sm">
      {props.url}
    </Anchor>
  ) : (
    <span className="break">{props.url}</span>
  );
}

/** The deposit's own fields, as a description list. */
export function DepositFields(props: { deposit: DepositDetailFragment }) {
  const d = props.deposit;
  const fields: [string, ReactNode][] = [
    ['User', <span className="break">{d.userId}</span>],
    ['Provider', d.provider],
    [d.amount != null ? 'Amount' : 'Amount (open)', formatMoney(formatAsked(d), d.currency)],
    ['Received', formatMoney(d.receivedAmount, d.receivedCurrency)],
    ['Payment state', d.paymentState ?? '—'],
    ['Rejection reason', d.rejectionReason ?? '—'],
    ['Resolution', d.resolution ?? '—'],
    ['Created', <DateTime iso={d.createdAt} />],
    ['Updated', <DateTime iso={d.updatedAt} />],
    ['Expires', <DateTime iso={d.expiresAt} />],
    ['Checkout URL', <SafeUrl url={d.checkoutUrl} />],
    ['Redirect URL', <SafeUrl url={d.redirectUrl} />],
  ];
  return (
    <dl className="fields">
      {fields.map(([label, value]) => (
        <div key={label} className="field">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
