import { registerEnumType } from 'type-graphql';
import { EventSource, Resolution } from '../domain/audit.js';
import { DepositStatus, PaymentState, VerificationStatus } from '../domain/deposit-status.js';

registerEnumType(DepositStatus, { name: 'DepositStatus' });
registerEnumType(PaymentState, { name: 'PaymentState' });
registerEnumType(VerificationStatus, { name: 'VerificationStatus' });
registerEnumType(EventSource, { name: 'EventSource' });
registerEnumType(Resolution, { name: 'Resolution' });

export { DepositStatus, EventSource, PaymentState, Resolution, VerificationStatus };
