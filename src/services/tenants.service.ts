import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../db/orm.js';
import { ApiKeyRole } from '../domain/api-key-role.js';
import { randomToken, sha256Hex } from '../lib/crypto.js';

/** The authenticated caller of the GraphQL API: a tenant, found by one of its API keys. */
export interface TenantAuth {
  tenantId: string;
  name: string;
  /** Present when the tenant must sign request bodies (`x-payload-hash`). Never logged. */
  hmacSecret: string | null;
}

/** One API key that checked out: its tenant, and which key it is (role, label: who acted). */
export interface KeyAuth extends TenantAuth {
  keyId: string;
  role: ApiKeyRole;
  label: string;
}

export interface CreatedTenant {
  tenantId: string;
  name: string;
  apiKey: string;
  /** The tenant's first `OPERATOR` key. */
  operatorKey: string;
  hmacSecret?: string;
}

/**
 * How long a key's answer is reused. A key revoked on another gateway is refused here once its
 * entry expires (the contract allows 10 seconds); the gateway that revokes a key forgets it at once.
 */
export const KEY_CACHE_TTL_MS = 5_000;
/** `last_used_at` is written at most this often per key. */
export const LAST_USED_INTERVAL_MS = 60_000;

export class TenantService {
  /** Key hash → tenant and key, briefly: a hot API key does not cost a query per request. */
  private readonly cache = new Map<string, { auth: KeyAuth | null; until: number }>();
  /** Key id → when this process last wrote its `last_used_at`. */
  private readonly usedWritten = new Map<string, number>();

  constructor(
    private readonly orm: Orm,
    private readonly onBackgroundError: (err: unknown) => void = () => {},
  ) {}

  /** The key's tenant and role, or null for an unknown or revoked key. Records its use, off the request's path. */
  async authenticate(apiKey: string): Promise<KeyAuth | null> {
    const keyHash = sha256Hex(apiKey);
    const hit = this.cache.get(keyHash);
    let auth: KeyAuth | null;
    if (hit && hit.until > Date.now()) {
      auth = hit.auth;
    } else {
      const rows = await this.orm.em.fork().execute<
        {
          id: string;
          name: string;
          hmac_secret: string | null;
          key_id: string;
          role: ApiKeyRole;
          label: string;
        }[]
      >(
        `select t.id, t.name, t.hmac_secret, k.id as key_id, k.role, k.label
           from api_key k join tenant t on t.id = k.tenant_id
          where k.key_hash = ? and k.revoked_at is null`,
        [keyHash],
      );
      const r = rows[0];
      auth = r
        ? { tenantId: r.id, name: r.name, hmacSecret: r.hmac_secret, keyId: r.key_id, role: r.role, label: r.label }
        : null;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(keyHash, { auth, until: Date.now() + KEY_CACHE_TTL_MS });
    }
    if (auth) this.recordUse(auth.keyId);
    return auth;
  }

  /** Drops a key from this process's cache (it was just revoked here): refused from the next request on. */
  forgetKey(keyId: string): void {
    for (const [hash, entry] of this.cache) if (entry.auth?.keyId === keyId) this.cache.delete(hash);
  }

  /** Which of `keyIds` are revoked (or gone): what the socket's periodic check closes. */
  async revokedAmong(keyIds: readonly string[]): Promise<Set<string>> {
    if (keyIds.length === 0) return new Set();
    const rows = await this.orm.em
      .fork()
      .execute<{ id: string }[]>(
        'select id from api_key where id in (select jsonb_array_elements_text(?::jsonb)::uuid) and revoked_at is null',
        [JSON.stringify([...new Set(keyIds)])],
      );
    const live = new Set(rows.map((r) => r.id));
    return new Set(keyIds.filter((id) => !live.has(id)));
  }

  /**
   * `last_used_at`, at most once a minute per key and never awaited by the request: one small
   * update, which Postgres also skips when another gateway wrote it within the minute.
   */
  private recordUse(keyId: string): void {
    const now = Date.now();
    if (now - (this.usedWritten.get(keyId) ?? 0) < LAST_USED_INTERVAL_MS) return;
    if (this.usedWritten.size > 10_000) this.usedWritten.clear();
    this.usedWritten.set(keyId, now);
    this.orm.em
      .fork()
      .execute(
        `update api_key set last_used_at = now()
          where id = ? and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
        [keyId],
      )
      .catch((err: unknown) => this.onBackgroundError(err));
  }

  /**
   * Creates a tenant with a fresh `APP` key, a fresh `OPERATOR` key (and HMAC secret); all are
   * returned once and stored only as needed (the keys as SHA-256).
   */
  async create(name: string, opts: { hmac?: boolean; apiKey?: string } = {}): Promise<CreatedTenant> {
    const apiKey = opts.apiKey ?? randomToken('dgw_');
    const operatorKey = randomToken('dgw_');
    const hmacSecret = opts.hmac ? randomToken('hmac_') : undefined;
    const tenantId = randomUUID();
    await this.orm.em.fork().transactional(async (em) => {
      await em.execute('insert into tenant (id, name, hmac_secret) values (?, ?, ?)', [
        tenantId,
        name,
        hmacSecret ?? null,
      ]);
      await addKey(em, tenantId, apiKey, ApiKeyRole.APP, 'app');
      await addKey(em, tenantId, operatorKey, ApiKeyRole.OPERATOR, 'operator');
    });
    return { tenantId, name, apiKey, operatorKey, hmacSecret };
  }

  /**
   * BOOTSTRAP_API_KEY and BOOTSTRAP_OPERATOR_KEY: the tenant `default` exists (created if missing)
   * and accepts them, as an `APP` key labelled `bootstrap` and an `OPERATOR` key labelled
   * `bootstrap-operator`; older keys stay valid. A key revoked through the API stays revoked.
   * @returns which of the two are revoked (the caller says so in the log).
   */
  async ensureBootstrap(
    apiKey: string | undefined,
    operatorKey?: string,
  ): Promise<{ revoked: ('BOOTSTRAP_API_KEY' | 'BOOTSTRAP_OPERATOR_KEY')[] }> {
    return this.orm.em.fork().transactional(async (em) => {
      await em.execute("insert into tenant (id, name) values (?, 'default') on conflict (name) do nothing", [
        randomUUID(),
      ]);
      const revoked: ('BOOTSTRAP_API_KEY' | 'BOOTSTRAP_OPERATOR_KEY')[] = [];
      const rows = await em.execute<{ id: string }[]>("select id from tenant where name = 'default'");
      if (apiKey && !(await addKey(em, rows[0].id, apiKey, ApiKeyRole.APP, 'bootstrap'))) {
        revoked.push('BOOTSTRAP_API_KEY');
      }
      if (operatorKey && !(await addKey(em, rows[0].id, operatorKey, ApiKeyRole.OPERATOR, 'bootstrap-operator'))) {
        revoked.push('BOOTSTRAP_OPERATOR_KEY');
      }
      return { revoked };
    });
  }

  async bootstrapTenantExists(): Promise<boolean> {
    const rows = await this.orm.em.fork().execute("select 1 from tenant where name = 'default'");
    return rows.length > 0;
  }
}

/**
 * Adds a key (a key already stored keeps its role; one still labelled `legacy`, from before
 * labels, takes this label). @returns false when that key exists and is revoked.
 */
async function addKey(
  em: EntityManager,
  tenantId: string,
  apiKey: string,
  role: ApiKeyRole,
  label: string,
): Promise<boolean> {
  const keyHash = sha256Hex(apiKey);
  await em.execute(
    `insert into api_key (id, tenant_id, key_hash, role, label) values (?, ?, ?, ?, ?)
     on conflict (key_hash) do update set label = excluded.label where api_key.label = 'legacy'`,
    [randomUUID(), tenantId, keyHash, role, label],
  );
  const rows = await em.execute<{ revoked_at: Date | null }[]>('select revoked_at from api_key where key_hash = ?', [
    keyHash,
  ]);
  return rows[0]?.revoked_at == null;
}
