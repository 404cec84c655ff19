import { randomUUID } from 'node:crypto';
import type { Orm } from '../db/orm.js';
import { API_KEY_LABEL_MAX, ApiKeyRole } from '../domain/api-key-role.js';
import { randomToken, sha256Hex } from '../lib/crypto.js';
import { BadUserInputError, NotFoundError } from '../lib/errors.js';
import type { TenantService } from './tenants.service.js';

/** An API key as the API shows it: never the key itself, nor its hash. */
export interface ApiKeyRecord {
  id: string;
  role: ApiKeyRole;
  label: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface Row {
  id: string;
  role: ApiKeyRole;
  label: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const COLUMNS = 'id, role, label, created_at, last_used_at, revoked_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// C0 and C1 controls, DEL; and line/paragraph separators, which split a label shown as a line.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

// Raw SQL answers timestamps as text: Dates here, for the DateTime scalar.
const toDate = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));
const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  role: r.role,
  label: r.label,
  createdAt: toDate(r.created_at)!,
  lastUsedAt: toDate(r.last_used_at),
  revokedAt: toDate(r.revoked_at),
});

/** A label as stored: trimmed, 1..100 characters, no control characters; else BAD_USER_INPUT naming `label`. */
export function normalizeLabel(label: string): string {
  const trimmed = label.trim();
  const length = [...trimmed].length;
  if (length === 0) throw new BadUserInputError('label', 'must not be empty');
  if (length > API_KEY_LABEL_MAX)
    throw new BadUserInputError('label', `must be at most ${API_KEY_LABEL_MAX} characters`);
  if (CONTROL.test(trimmed)) throw new BadUserInputError('label', 'must not contain control characters');
  return trimmed;
}

/**
 * A tenant's API keys (contract: "API keys and roles"): listed, created (the key is returned
 * once, stored as SHA-256), revoked. Key management of one tenant is serialized by a lock on
 * its `tenant` row, so two revocations at once cannot leave it without an operator key.
 */
export class ApiKeyService {
  private readonly revokedListeners: ((keyId: string) => void)[] = [];

  constructor(
    private readonly orm: Orm,
    private readonly tenants: TenantService,
  ) {}

  /** Called after a revocation here commits (the socket server closes that key's sockets at once). */
  onRevoked(listener: (keyId: string) => void): void {
    this.revokedListeners.push(listener);
  }

  /** Every key of the tenant, revoked ones included, oldest first. */
  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.orm.em
      .fork()
      .execute<Row[]>(`select ${COLUMNS} from api_key where tenant_id = ? order by created_at, role, id`, [tenantId]);
    return rows.map(toRecord);
  }

  /** A new key with this role and label; `key` is the only time the key is seen. */
  async create(tenantId: string, role: ApiKeyRole, label: string): Promise<{ apiKey: ApiKeyRecord; key: string }> {
    const clean = normalizeLabel(label);
    if (role !== ApiKeyRole.APP && role !== ApiKeyRole.OPERATOR) throw new BadUserInputError('role', 'unknown role');
    const key = randomToken('dgw_');
    const rows = await this.orm.em
      .fork()
      .execute<Row[]>(
        `insert into api_key (id, tenant_id, key_hash, role, label) values (?, ?, ?, ?, ?) returning ${COLUMNS}`,
        [randomUUID(), tenantId, sha256Hex(key), role, clean],
      );
    return { apiKey: toRecord(rows[0]), key };
  }

  /**
   * Revokes a key of this tenant: refused from now on here, within seconds on every other gateway.
   * Another tenant's id, or no UUID: NOT_FOUND. Already revoked: returned unchanged. The
   * tenant's last operator key: BAD_USER_INPUT.
   */
  async revoke(tenantId: string, id: string): Promise<ApiKeyRecord> {
    if (!UUID.test(id)) throw new NotFoundError('api key', id);
    const record = await this.orm.em.fork().transactional(async (em) => {
      await em.execute('select id from tenant where id = ? for update', [tenantId]);
      const found = await em.execute<Row[]>(`select ${COLUMNS} from api_key where id = ? and tenant_id = ?`, [
        id,
        tenantId,
      ]);
      const key = found[0];
      if (!key) throw new NotFoundError('api key', id);
      if (key.revoked_at) return toRecord(key);
      if (key.role === ApiKeyRole.OPERATOR) {
        const others = await em.execute<{ n: string }[]>(
          `select count(*) as n from api_key
            where tenant_id = ? and role = 'OPERATOR' and revoked_at is null and id <> ?`,
          [tenantId, id],
        );
        if (Number(others[0].n) === 0) {
          throw new BadUserInputError('id', "this is the tenant's last operator key: create another one first");
        }
      }
      const updated = await em.execute<Row[]>(
        `update api_key set revoked_at = now() where id = ? returning ${COLUMNS}`,
        [id],
      );
      return toRecord(updated[0]);
    });
    // Also when it was revoked already (perhaps on another gateway): this one forgets it now too.
    this.tenants.forgetKey(id);
    for (const listener of this.revokedListeners) listener(id);
    return record;
  }
}
