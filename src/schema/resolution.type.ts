import { registerEnumType } from 'type-graphql';
import { ResolutionAction } from '../domain/resolution-rules.js';

registerEnumType(ResolutionAction, {
  name: 'ResolutionAction',
  description:
    'What an operator may do with exception money: CREDIT it, MARK_REFUNDED (returned outside the gateway), REVERSE a completed credit',
});

export { ResolutionAction };
