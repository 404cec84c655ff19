import { Field, ID, ObjectType } from 'type-graphql';
import { ApiKeyRole } from './enums.js';
import { DateTimeScalar } from './scalars.js';

/** An API key as operators see it (contract: "API keys and roles"): never the key, nor its hash. */
@ObjectType('ApiKey')
export class ApiKeyType {
  @Field(() => ID) id!: string;
  @Field(() => ApiKeyRole) role!: ApiKeyRole;
  @Field(() => String, { description: 'What the key is for; the `actor` of what an operator key does' })
  label!: string;
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Recorded at most once a minute' })
  lastUsedAt?: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Set when revoked: the key is refused from then on' })
  revokedAt?: Date | null;
}

@ObjectType('CreateApiKeyPayload')
export class CreateApiKeyPayload {
  @Field(() => ApiKeyType) apiKey!: ApiKeyType;
  @Field(() => String, { description: 'The key itself, shown this once: store it now' }) key!: string;
}
