import { formatDateTime } from '../lib/format.js';

/** A local date and time, with the exact instant (UTC, ISO 8601) for machines and on hover. */
export function DateTime(props: { iso: string | null | undefined }) {
  if (!props.iso) return <>—</>;
  return (
    <time dateTime={props.iso} title={props.iso}>
      {formatDateTime(props.iso)}
    </time>
  );
}
