import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Secrets every process of a deployment must share although nobody configured them
 * (see the AppSecret entity). First writer wins; everyone reads the winner.
 */
export async function sharedSecret(em: EntityManager, name: string, generate: () => string): Promise<string> {
  await em.execute('insert into app_secret (name, value) values (?, ?) on conflict (name) do nothing', [
    name,
    generate(),
  ]);
  const rows = await em.execute<{ value: string }[]>('select value from app_secret where name = ?', [name]);
  return rows[0].value;
}
