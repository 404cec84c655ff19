import { createHmac } from 'node:crypto';
import { safeEqual } from '../lib/crypto.js';

/**
 * A client token names one deposit and is safe to hand to a browser: it grants
 * watching that deposit's status and nothing else. It is an HMAC of the deposit
 * id under a key kept in the database, so every gateway on that database accepts
 * it, it stays valid as long as the deposit exists, and the same deposit always
 * gets the same token (idempotent createDeposit returns it again).
 */
export class ClientTokens {
  constructor(private readonly key: string) {}

  issue(depositId: string): string {
    return `ct_${depositId}.${this.sign(depositId)}`;
  }

  /** The deposit id the token was issued for, or `undefined` when it is not one of ours. */
  verify(token: string): string | undefined {
    const m = /^ct_([0-9a-f-]{36})\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return undefined;
    return safeEqual(m[2], this.sign(m[1])) ? m[1] : undefined;
  }

  private sign(depositId: string): string {
    return createHmac('sha256', this.key).update(`client-token:${depositId}`).digest('base64url');
  }
}
