import { registerEnumType } from 'type-graphql';
import { ApiKeyRole } from '../domain/api-key-role.js';
import { EventSource, Resolution } from '../domain/audit.js';
import { DepositStatus, PaymentState, VerificationStatus } from '../domain/deposit-status.js';

registerEnumType(DepositStatus, { name: 'DepositStatus' });
registerEnumType(PaymentState, { name: 'PaymentState' });
registerEnumType(VerificationStatus, { name: 'VerificationStatus' });
registerEnumType(EventSource, { name: 'EventSource' });
registerEnumType(Resolution, { name: 'Resolution' });
registerEnumType(ApiKeyRole, {
  name: 'ApiKeyRole',
  description: 'What an API key may do: APP (apps), OPERATOR (also the operator fields)',
});

export { ApiKeyRole, DepositStatus, EventSource, PaymentState, Resolution, VerificationStatus };
