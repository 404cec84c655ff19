import { Anchor, Table, Text } from '@mantine/core';
import { formatAsked } from '../lib/format.js';
import { hrefs } from '../lib/router.js';
import type { DepositRow } from '../state/deposit-list.js';
import { DateTime } from './DateTime.js';
import { NeedsAttentionMark } from './NeedsAttentionMark.js';
import { StatusBadge } from './StatusBadge.js';

/**
 * The deposit list: a table on a laptop, one card per deposit on a phone (console.css turns the
 * rows into cards below 48em; every cell carries its column name in `data-label` for that).
 */
export function DepositTable(props: { rows: DepositRow[]; changes: Record<string, number>; empty: string }) {
  return (
    <Table className="deposit-table" highlightOnHover verticalSpacing="xs" horizontalSpacing="md">
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">ID</Table.Th>
          <Table.Th scope="col">User</Table.Th>
          <Table.Th scope="col" className="num">
            Amount
          </Table.Th>
          <Table.Th scope="col">Currency</Table.Th>
          <Table.Th scope="col">Status</Table.Th>
          <Table.Th scope="col">Created</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {props.rows.length === 0 ? (
          <Table.Tr className="empty-row">
            <Table.Td colSpan={6}>
              <Text c="dimmed" ta="center" py="lg">
                {props.empty}
              </Text>
            </Table.Td>
          </Table.Tr>
        ) : (
          props.rows.map((d) => {
            const changes = props.changes[d.id] ?? 0;
            return (
              <Table.Tr
                key={d.id}
                data-deposit-id={d.id}
                className={changes > 0 ? `flash-${changes % 2 ? 'a' : 'b'}` : undefined}
              >
                <Table.Td data-label="ID" className="cell-id">
                  <Anchor href={hrefs.deposit(d.id)} className="mono" size="sm">
                    {d.id}
                  </Anchor>
                </Table.Td>
                <Table.Td data-label="User" className="cell-user">
                  <span className="truncate" title={d.userId}>
                    {d.userId}
                  </span>
                </Table.Td>
                <Table.Td data-label="Amount" className="num">
                  {formatAsked(d)}
                </Table.Td>
                <Table.Td data-label="Currency">{d.currency}</Table.Td>
                <Table.Td data-label="Status" className="cell-status">
                  <span className="status-cell">
                    <StatusBadge status={d.status} />
                    <NeedsAttentionMark deposit={d} />
                  </span>
                </Table.Td>
                <Table.Td data-label="Created" className="cell-created">
                  <DateTime iso={d.createdAt} />
                </Table.Td>
              </Table.Tr>
            );
          })
        )}
      </Table.Tbody>
    </Table>
  );
}
