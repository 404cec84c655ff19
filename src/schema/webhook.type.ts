import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from './deposit.type.js';
import { DateTimeScalar } from './scalars.js';

/** Where a merchant webhook delivery stands. */
export enum DeliveryStatus {
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });

@ObjectType('WebhookEndpoint', {
  description: "A merchant's endpoint: every status change of the tenant is POSTed to it, signed",
})
export class WebhookEndpointType {
  @Field(() => ID) id!: string;
  @Field(() => String) url!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => String, {
    nullable: true,
    description: 'Why it is disabled (by an operator, or after 5 days of failures)',
  })
  disabledReason?: string | null;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

@ObjectType('WebhookEndpointSecret')
export class WebhookEndpointSecretType {
  @Field(() => WebhookEndpointType) endpoint!: WebhookEndpointType;
  @Field(() => String, { description: 'whsec_<base64>: shown this once, never again' }) secret!: string;
}

@ObjectType('WebhookDelivery')
export class WebhookDeliveryType {
  @Field(() => ID) id!: string;
  @Field(() => ID) endpointId!: string;
  @Field(() => String, {
    description: 'The webhook-id sent: the same for every attempt and redelivery of one status change',
  })
  eventId!: string;
  @Field(() => String) eventType!: string;
  @Field(() => DeliveryStatus) status!: DeliveryStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => DateTimeScalar, { nullable: true }) lastAttemptAt?: Date | null;
  @Field(() => Int, { nullable: true }) lastResponseStatus?: number | null;
  @Field(() => String, { nullable: true, description: 'Short; response bodies are never kept' }) lastError?:
    string | null;
  @Field(() => DateTimeScalar, { nullable: true }) nextAttemptAt?: Date | null;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

@ObjectType('WebhookDeliveryEdge')
export class WebhookDeliveryEdge {
  @Field(() => String) cursor!: string;
  @Field(() => WebhookDeliveryType) node!: WebhookDeliveryType;
}

@ObjectType('WebhookDeliveryConnection')
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge]) edges!: WebhookDeliveryEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
