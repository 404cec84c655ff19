import type pg from 'pg';
import { isStorageUnavailable } from './errors.js';

/** Where one statement runs: the pool (a statement on its own) or a client inside a transaction. */
export type Sql = pg.Pool | pg.PoolClient;

export interface TransactionOptions {
  /**
   * Generic plans for the prepared statements (their shape, not their arrays, decides the
   * plan): without it Postgres plans batch statements anew for every batch.
   */
  genericPlans?: boolean;
}

/**
 * Runs `work` in one transaction on a client of `pool`: committed if it resolves, rolled back
 * if it throws. A connection that failed mid-transaction is not handed to the next caller.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (c: pg.PoolClient) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query(opts.genericPlans ? 'begin; set local plan_cache_mode = force_generic_plan' : 'begin');
    const out = await work(c);
    await c.query('commit');
    return out;
  } catch (err) {
    broken = isStorageUnavailable(err);
    if (!broken) await c.query('rollback').catch(() => (broken = true));
    throw err;
  } finally {
    c.release(broken ? true : undefined);
  }
}
