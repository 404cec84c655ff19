import type { DepositStatus } from '../generated/graphql.js';

/** Every status, in the order a deposit moves through them (for the status filter). */
export const DEPOSIT_STATUSES = [
  'PENDING',
  'DETECTED',
  'CONFIRMING',
  'CONFIRMED',
  'SCREENING',
  'COMPLETED',
  'REJECTED',
  'EXPIRED',
  'FAILED',
  'REVERSED',
] as const satisfies readonly DepositStatus[];

// Fails to compile when the schema gains a status (REVERSED) that is not listed above.
type Unlisted = Exclude<DepositStatus, (typeof DEPOSIT_STATUSES)[number]>;
const _allListed: [Unlisted] extends [never] ? true : Unlisted = true;
void _allListed;

const STATUS_COLORS: Record<string, string> = {
  PENDING: 'gray',
  DETECTED: 'cyan',
  CONFIRMING: 'cyan',
  CONFIRMED: 'blue',
  SCREENING: 'indigo',
  COMPLETED: 'teal',
  REJECTED: 'orange',
  EXPIRED: 'gray',
  FAILED: 'red',
  REVERSED: 'grape',
};

/** A Mantine color for a status; a status this build does not know yet is gray. */
export function statusColor(status: string): string {
  return STATUS_COLORS[status] ?? 'gray';
}

export function isDepositStatus(value: string): value is DepositStatus {
  return (DEPOSIT_STATUSES as readonly string[]).includes(value);
}
