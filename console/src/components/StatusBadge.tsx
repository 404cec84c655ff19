import { Badge } from '@mantine/core';
import { statusColor } from '../lib/deposit-status.js';

export function StatusBadge(props: { status: string; size?: 'sm' | 'md' | 'lg' }) {
  return (
    <Badge
      color={statusColor(props.status)}
      variant="light"
      size={props.size ?? 'sm'}
      radius="sm"
      tt="none"
      className="status-badge"
    >
      {props.status}
    </Badge>
  );
}
