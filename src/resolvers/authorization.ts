/**
 * Authorization, decided here and nowhere else (contract: "API keys and roles").
 *
 * How to use it:
 * - An operator-only query, mutation or field: put `@OperatorOnly()` on the method (or property)
 *   next to `@Query`/`@Mutation`/`@Field`/`@FieldResolver`. An `APP` key or a client token gets
 *   `FORBIDDEN` before the resolver runs (its arguments are not even read); nothing else to check
 *   in the resolver. Do not write `@Authorized(ApiKeyRole.OPERATOR)` by hand: `OperatorOnly()` also
 *   marks the field (`extensions.requiresRole`), which is how `operatorFields(schema)` and the test
 *   in `test/integration/authorization.test.ts` find every operator field and refuse it to an
 *   `APP` key and a client token (a field marked one way and not the other fails that test).
 * - A field every key may read but that shows operators more (e.g. `availableActions`, empty for
 *   others): `isOperator(ctx)`.
 * - Who acted (the `actor` of an operator's timeline event): `requireOperator(ctx)` returns the
 *   principal with `keyId`, `role`, `label`; it throws FORBIDDEN like the decorator.
 * - Everything else stays as before: `requireTenant(ctx)` (`context.ts`) for any API key.
 *
 * The checker is registered once in `gateway/schema.ts` (`authChecker`, `authMode: 'error'`); it
 * runs before the global middlewares, so it throws `GraphQLError`s with the project's codes
 * itself: `UNAUTHENTICATED` without a principal, `FORBIDDEN` for the wrong role or a client token,
 * on HTTP and on the socket alike.
 */
import { isInterfaceType, isObjectType, type GraphQLError, type GraphQLSchema } from 'graphql';
import { Authorized, Extensions, type AuthChecker } from 'type-graphql';
import { ApiKeyRole } from '../domain/api-key-role.js';
import { ForbiddenError, UnauthenticatedError, type AppError } from '../lib/errors.js';
import type { GraphQLContext, TenantPrincipal } from './context.js';
import { toGraphQLError } from './error-mapping.middleware.js';

/** The key in a GraphQL field's `extensions` that names the role it requires. */
export const REQUIRES_ROLE = 'requiresRole';

const asGraphQLError = (err: AppError) => toGraphQLError(err) as GraphQLError;

/**
 * The principal when it is an API key with one of `roles` (any key when `roles` is empty); else
 * the error to throw: UNAUTHENTICATED without credentials, FORBIDDEN otherwise.
 */
function check(ctx: GraphQLContext, roles: readonly ApiKeyRole[]): TenantPrincipal | AppError {
  const p = ctx.principal;
  if (!p) return UnauthenticatedError.missingKey();
  if (p.kind !== 'tenant') return new ForbiddenError('a client token may only subscribe to its own deposit');
  if (roles.length > 0 && !roles.includes(p.role)) {
    return new ForbiddenError(`this field needs an API key with the role ${roles.join(' or ')}`);
  }
  return p;
}

/** type-graphql's checker: `@Authorized(...roles)` (through `OperatorOnly()`) lands here. */
export const authChecker: AuthChecker<GraphQLContext, ApiKeyRole> = ({ context }, roles) => {
  const result = check(context, roles);
  if (result instanceof Error) throw asGraphQLError(result);
  return true;
};

/** Marks a query, mutation or field as operator-only (see the top of this file). */
export function OperatorOnly(): MethodDecorator & PropertyDecorator {
  const authorized = Authorized(ApiKeyRole.OPERATOR);
  const marked = Extensions({ [REQUIRES_ROLE]: ApiKeyRole.OPERATOR });
  return ((target: object, key: string | symbol, descriptor?: PropertyDescriptor) => {
    // type-graphql's decorators are written for both kinds; each reads what it needs.
    (authorized as (t: object, k: string | symbol, d?: PropertyDescriptor) => void)(target, key, descriptor);
    (marked as (t: object, k: string | symbol, d?: PropertyDescriptor) => void)(target, key, descriptor);
  }) as MethodDecorator & PropertyDecorator;
}

/** Whether the caller is an OPERATOR key (for fields readable by all that show operators more). */
export function isOperator(ctx: GraphQLContext): boolean {
  return ctx.principal?.kind === 'tenant' && ctx.principal.role === ApiKeyRole.OPERATOR;
}

/** The operator's principal (key id, label: the actor), or the same refusal as `OperatorOnly()`. */
export function requireOperator(ctx: GraphQLContext): TenantPrincipal {
  const result = check(ctx, [ApiKeyRole.OPERATOR]);
  if (result instanceof Error) throw result;
  return result;
}

/** Every field of `schema` marked operator-only, as `Type.field` (what the authorization test loops over). */
export function operatorFields(schema: GraphQLSchema): { type: string; field: string }[] {
  const found: { type: string; field: string }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.extensions?.[REQUIRES_ROLE] === ApiKeyRole.OPERATOR) found.push({ type: type.name, field: field.name });
    }
  }
  return found;
}
