import { Badge } from '@mantine/core';
import type { AttentionFields } from '../lib/features.js';

/**
 * The mark on a deposit that needs an operator. Renders nothing until the gateway reports
 * `needsAttention` (add it to the DepositRow fragment): the slot is typed, not faked.
 */
export function NeedsAttentionMark(props: { deposit: AttentionFields }) {
  if (props.deposit.needsAttention !== true) return null;
  return (
    <Badge color="red" variant="filled" size="sm" radius="sm" tt="none" className="attention-mark">
      Needs attention
    </Badge>
  );
}
