import {
  Alert,
  Button,
  Checkbox,
  CloseButton,
  Group,
  Loader,
  NativeSelect,
  Paper,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { DepositTable } from '../components/DepositTable.js';
import { DEPOSIT_STATUSES, isDepositStatus } from '../lib/deposit-status.js';
import { useDepositList } from '../session.js';

const SEARCH_DELAY_MS = 300;

export function DepositListPage() {
  const { filters, setFilters, query, state, loadMore } = useDepositList();
  const [search, setSearch] = useState(filters.search);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.title = 'Deposits · Operator console';
    heading.current?.focus({ preventScroll: true });
  }, []);

  // Typing searches after a pause; Enter searches at once.
  useEffect(() => {
    if (search === filters.search) return;
    const t = setTimeout(() => setFilters((f) => ({ ...f, search })), SEARCH_DELAY_MS);
    return () => clearTimeout(t);
  }, [search, filters.search, setFilters]);

  const submitSearch = (e: FormEvent) => {
    e.preventDefault();
    setFilters((f) => ({ ...f, search }));
  };

  const filtered = query.kind !== 'all' || query.status !== null || query.needsAttention;
  const empty =
    query.kind === 'idOrUser'
      ? 'No deposit has this id, and no user has this id.'
      : filtered
        ? 'No deposits match these filters.'
        : 'No deposits yet.';

  return (
    <Stack gap="md">
      <Group justify="space-between" align="baseline">
        <Title order={1} size="h2" ref={heading} tabIndex={-1} className="page-heading">
          Deposits
        </Title>
        {state.status === 'ready' && (
          <Text size="sm" c="dimmed">
            {state.rows.length === 1 ? '1 deposit' : `${state.rows.length} deposits`}, newest first
            {state.hasNextPage ? ' (more below)' : ''}
          </Text>
        )}
      </Group>

      <Paper withBorder p="md">
        <form onSubmit={submitSearch} className="filters" role="search">
          <TextInput
            className="filter-search"
            label="Search"
            description="A deposit id, or a user id for that user's deposits"
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            spellCheck={false}
            autoComplete="off"
            rightSection={
              search ? (
                <CloseButton
                  aria-label="Clear"
                  size="sm"
                  onClick={() => {
                    setSearch('');
                    setFilters((f) => ({ ...f, search: '' }));
                  }}
                />
              ) : null
            }
          />
          <NativeSelect
            className="filter-status"
            label="Status"
            value={filters.status ?? ''}
            onChange={(e) => {
              const v = e.currentTarget.value;
              setFilters((f) => ({ ...f, status: isDepositStatus(v) ? v : null }));
            }}
            data={[{ value: '', label: 'All statuses' }, ...DEPOSIT_STATUSES.map((s) => ({ value: s, label: s }))]}
          />
          <Checkbox
            className="filter-attention"
            label="Needs attention"
            description="Money received, not yet credited or resolved"
            checked={filters.needsAttention}
            onChange={(e) => {
              const checked = e.currentTarget.checked;
              setFilters((f) => ({ ...f, needsAttention: checked }));
            }}
          />
        </form>
      </Paper>

      {query.kind === 'idOrUser' && (
        <Text size="sm" c="dimmed">
          A deposit found by its id is shown whatever its status.
        </Text>
      )}

      {state.status === 'error' ? (
        <Alert color="red" variant="light" title="The deposits could not be loaded">
          {state.error}
        </Alert>
      ) : state.status === 'loading' ? (
        <Group justify="center" py="xl">
          <Loader size="sm" aria-label="Loading deposits" />
        </Group>
      ) : (
        <Paper withBorder className="table-frame">
          <DepositTable rows={state.rows} changes={state.changes} empty={empty} />
        </Paper>
      )}

      {state.status === 'ready' && state.error && (
        <Alert color="red" variant="light">
          {state.error}
        </Alert>
      )}
      {state.status === 'ready' && state.hasNextPage && (
        <Group justify="center">
          <Button variant="default" onClick={loadMore} loading={state.loadingMore}>
            Load more
          </Button>
        </Group>
      )}
      <div className="visually-hidden" aria-live="polite">
        {state.announcement}
      </div>
    </Stack>
  );
}
