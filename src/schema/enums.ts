import { registerEnumType } from 'type-graphql';
import { DepositStatus, PaymentState, VerificationStatus } from '../domain/deposit-status.js';

registerEnumType(DepositStatus, { name: 'DepositStatus' });
registerEnumType(PaymentState, { name: 'PaymentState' });
registerEnumType(VerificationStatus, { name: 'VerificationStatus' });

export { DepositStatus, PaymentState, VerificationStatus };
