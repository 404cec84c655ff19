import { Field, InputType } from 'type-graphql';
import { sandbox } from '../providers/sandbox.provider.js';
import { DecimalScalar } from './scalars.js';

/** Shapes only: the rules (lengths, formats, bounds) are checked by the service with zod, naming the field. */
@InputType('CreateDepositInput')
export class CreateDepositInputType {
  @Field(() => String, { description: '1..4000 chars' }) userId!: string;
  @Field(() => String, { description: '3 to 10 upper-case letters' }) currency!: string;
  @Field(() => DecimalScalar, { nullable: true, description: 'A fixed amount; or leave it out for an open amount' })
  amount?: string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Open amount only; default 10' }) minAmount?:
    string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Open amount only; default 5000; 0 <= min <= max' })
  maxAmount?: string | null;
  @Field(() => String, {
    nullable: true,
    description: `Default: DEFAULT_PROVIDER ("${sandbox.name}" outside production)`,
  })
  provider?: string | null;
  @Field(() => String, { nullable: true, description: 'http(s) URL' }) redirectUrl?: string | null;
  @Field(() => String, { nullable: true, description: 'Display only; defaults to userId where a provider needs one' })
  userName?: string | null;
  @Field(() => String, { nullable: true, description: 'Display only' }) userEmail?: string | null;
  @Field(() => String, { nullable: true, description: '2 letters, for the provider checkout page' }) language?:
    string | null;
}
