import { ApiKey } from './api-key.entity.js';
import { AppSecret } from './app-secret.entity.js';
import { Balance } from './balance.entity.js';
import { DepositEvent } from './deposit-event.entity.js';
import { Deposit } from './deposit.entity.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { LedgerEntry } from './ledger-entry.entity.js';
import { Outbox } from './outbox.entity.js';
import { Tenant } from './tenant.entity.js';
import { UserVerification } from './user-verification.entity.js';
import { WalletBalance } from './wallet-balance.entity.js';
import { WebhookInbox } from './webhook-inbox.entity.js';

export {
  ApiKey,
  AppSecret,
  Balance,
  Deposit,
  DepositEvent,
  IdempotencyKey,
  LedgerEntry,
  Outbox,
  Tenant,
  UserVerification,
  WalletBalance,
  WebhookInbox,
};

export const ENTITIES = [
  Tenant,
  ApiKey,
  AppSecret,
  Deposit,
  DepositEvent,
  WebhookInbox,
  Outbox,
  LedgerEntry,
  Balance,
  IdempotencyKey,
  UserVerification,
  WalletBalance,
];
