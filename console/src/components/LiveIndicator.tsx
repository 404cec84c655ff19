import type { LiveState } from '../api/live.js';

const LABELS: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  refused: 'Offline',
};

/** Whether status changes are arriving; a polite live region, so a screen reader hears it change. */
export function LiveIndicator(props: { state: LiveState }) {
  return (
    <span className="live-indicator" data-state={props.state} role="status" title="Live updates over graphql-ws">
      <span className="live-dot" aria-hidden="true" />
      {LABELS[props.state]}
    </span>
  );
}
