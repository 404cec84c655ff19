import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../db/orm.js';
import { randomToken, sha256Hex } from '../lib/crypto.js';

/** The authenticated caller of the GraphQL API: a tenant, found by one of its API keys. */
export interface TenantAuth {
  tenantId: string;
  name: string;
  /** Present when the tenant must sign request bodies (`x-payload-hash`). Never logged. */
  hmacSecret: string | null;
}

export interface CreatedTenant {
  tenantId: string;
  name: string;
  apiKey: string;
  hmacSecret?: string;
}

const CACHE_TTL_MS = 10_000;

export class TenantService {
  /** Key hash → tenant, briefly: a hot API key does not cost a query per request. */
  private readonly cache = new Map<string, { auth: TenantAuth | null; until: number }>();

  constructor(private readonly orm: Orm) {}

  async authenticate(apiKey: string): Promise<TenantAuth | null> {
    const keyHash = sha256Hex(apiKey);
    const hit = this.cache.get(keyHash);
    if (hit && hit.until > Date.now()) return hit.auth;
    const rows = await this.orm.em
      .fork()
      .execute<{ id: string; name: string; hmac_secret: string | null }[]>(
        'select t.id, t.name, t.hmac_secret from api_key k join tenant t on t.id = k.tenant_id where k.key_hash = ?',
        [keyHash],
      );
    const auth = rows[0] ? { tenantId: rows[0].id, name: rows[0].name, hmacSecret: rows[0].hmac_secret } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(keyHash, { auth, until: Date.now() + CACHE_TTL_MS });
    return auth;
  }

  /** Creates a tenant with a fresh API key (and HMAC secret); both are returned once and stored only as needed. */
  async create(name: string, opts: { hmac?: boolean; apiKey?: string } = {}): Promise<CreatedTenant> {
    const apiKey = opts.apiKey ?? randomToken('dgw_');
    const hmacSecret = opts.hmac ? randomToken('hmac_') : undefined;
    const tenantId = randomUUID();
    await this.orm.em.fork().transactional(async (em) => {
      await em.execute('insert into tenant (id, name, hmac_secret) values (?, ?, ?)', [
        tenantId,
        name,
        hmacSecret ?? null,
      ]);
      await addKey(em, tenantId, apiKey);
    });
    return { tenantId, name, apiKey, hmacSecret };
  }

  /** BOOTSTRAP_API_KEY: the tenant `default` exists (created if missing) and accepts this key; older keys stay valid. */
  async ensureBootstrap(apiKey: string | undefined): Promise<void> {
    await this.orm.em.fork().transactional(async (em) => {
      await em.execute("insert into tenant (id, name) values (?, 'default') on conflict (name) do nothing", [
        randomUUID(),
      ]);
      if (!apiKey) return;
      const rows = await em.execute<{ id: string }[]>("select id from tenant where name = 'default'");
      await addKey(em, rows[0].id, apiKey);
    });
  }

  async bootstrapTenantExists(): Promise<boolean> {
    const rows = await this.orm.em.fork().execute("select 1 from tenant where name = 'default'");
    return rows.length > 0;
  }
}

async function addKey(em: EntityManager, tenantId: string, apiKey: string): Promise<void> {
  await em.execute('insert into api_key (id, tenant_id, key_hash) values (?, ?, ?) on conflict (key_hash) do nothing', [
    randomUUID(),
    tenantId,
    sha256Hex(apiKey),
  ]);
}
