import type { Sql } from '../db/sql.js';

/**
 * One statement of data-modifying CTEs over arrays, which several stores write into: each
 * store adds the CTE that writes its own table, with its SQL and its parameters, and the
 * caller only composes. A batch of one event or of thirty-two costs one round trip.
 *
 * A store writes its CTE with its own `$1`, `$2`, ... (in the order of its `params`); they
 * are renumbered here. The statement is prepared once per connection and shape (the CTEs it
 * holds, in order), so Postgres parses and plans it once, not on every batch.
 */
export class BatchStatement {
  private readonly ctes: string[] = [];
  private readonly names: string[] = [];
  private readonly outputs: string[] = [];
  private readonly values: unknown[] = [];

  /** @param name the statement's name: with the CTEs' names, the prepared statement's. */
  constructor(private readonly name: string) {}

  /** `name as (sql)`. Later CTEs may read earlier ones (a CTE's `returning`). */
  addCte(name: string, sql: string, params: readonly unknown[]): this {
    this.names.push(name);
    this.ctes.push(`${name} as (${this.bind(sql, params)})`);
    return this;
  }

  /** An expression of the final `select` (give it an alias to read it back). */
  addOutput(expression: string, params: readonly unknown[] = []): this {
    this.outputs.push(this.bind(expression, params));
    return this;
  }

  get isEmpty(): boolean {
    return this.ctes.length === 0;
  }

  /** Runs the statement; its one row holds the outputs by alias. */
  async run(sql: Sql): Promise<Record<string, unknown>> {
    const select = this.outputs.length > 0 ? this.outputs.join(', ') : 'true as done';
    const name = `${this.name}:${this.names.join(',')}`;
    // Postgres cuts names at 63 bytes: two shapes must never share one.
    if (name.length > 63) throw new RangeError(`statement name too long for Postgres: ${name}`);
    const out = await sql.query<Record<string, unknown>>({
      name,
      text: `with ${this.ctes.join(',\n')}\nselect ${select}`,
      values: this.values,
    });
    return out.rows[0];
  }

  private bind(sql: string, params: readonly unknown[]): string {
    const offset = this.values.length;
    this.values.push(...params);
    return sql.replace(/\$(\d+)/g, (_, n: string) => {
      if (Number(n) > params.length) throw new RangeError(`$${n} has no parameter (${params.length} given)`);
      return `$${offset + Number(n)}`;
    });
  }
}

/** `unnest($1::t1[], $2::t2[], ...)`: one array parameter per column, of these Postgres types. */
export function unnest(types: readonly string[]): string {
  return `unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
}

/** The rows as one array per column (what `unnest` takes), each row's values from `pick`. */
export function columns<R>(rows: readonly R[], pick: (row: R) => readonly unknown[]): unknown[][] {
  const out: unknown[][] = [];
  for (const row of rows) {
    const values = pick(row);
    values.forEach((v, i) => (out[i] ??= []).push(v));
  }
  return out;
}
