import { Badge } from '@mantine/core';

/**
 * The mark on a deposit that needs an operator (`needsAttention`: money received and neither
 * credited nor resolved, or a sync that saw a completed payment without an amount).
 */
export function NeedsAttentionMark(props: { deposit: { needsAttention: boolean } }) {
  if (!props.deposit.needsAttention) return null;
  return (
    <Badge color="red" variant="filled" size="sm" radius="sm" tt="none" className="attention-mark">
      Needs attention
    </Badge>
  );
}
