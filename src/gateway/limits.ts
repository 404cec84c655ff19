import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  validate,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/**
 * The query limits of the contract, one function for both transports (Apollo's
 * plugins do not run on graphql-ws). A query over a limit is refused before it
 * runs, with `QUERY_TOO_COMPLEX`.
 */
export const LIMITS = {
  maxDepth: 8,
  maxAliases: 15,
  /** Every field costs 1; a list multiplies what it selects by `first` (or 10 when unsized). */
  maxCost: 20_000,
  defaultListSize: 10,
} as const;

export function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } });
}

/** The errors for `document`, empty when it is within every limit. */
export function checkLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
): GraphQLError[] {
  const refusals = structuralRefusals(schema, document);
  if (refusals.length > 0) return refusals;
  const cost = queryCost(schema, document, variables ?? {});
  if (cost > LIMITS.maxCost) return [tooComplex(`Query cost ${cost} exceeds the limit of ${LIMITS.maxCost}`)];
  return [];
}

/**
 * Depth and aliases depend on the document only, and both transports reuse parsed documents
 * (Apollo's document store, the socket's cache): checked once per document, not per request.
 */
const structuralChecks = new WeakMap<DocumentNode, GraphQLError[]>();

function structuralRefusals(schema: GraphQLSchema, document: DocumentNode): GraphQLError[] {
  const known = structuralChecks.get(document);
  if (known) return known;
  // graphql-armor's rules throw on rejection by default, which would surface as an internal
  // error; collected instead, each becomes a QUERY_TOO_COMPLEX refusal.
  const rejected: GraphQLError[] = [];
  const onReject = [(_ctx: unknown, err: GraphQLError) => void rejected.push(err)];
  const structural = validate(schema, document, [
    maxDepthRule({
      n: LIMITS.maxDepth,
      ignoreIntrospection: true,
      flattenFragments: true,
      propagateOnRejection: false,
      onReject,
    }),
    maxAliasesRule({ n: LIMITS.maxAliases, propagateOnRejection: false, onReject }),
  ]);
  const refusals = [...rejected, ...structural].map((e) => tooComplex(e.message.replace(/^Syntax Error: /, '')));
  structuralChecks.set(document, refusals);
  return refusals;
}

export function queryCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  let total = 0;
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const root =
      def.operation === 'query'
        ? schema.getQueryType()
        : def.operation === 'mutation'
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    if (root) total += selectionCost(def.selectionSet, root, false, fragments, variables, 0);
  }
  return total;
}

function selectionCost(
  set: SelectionSetNode,
  parent: GraphQLCompositeType,
  parentSized: boolean,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  depth: number,
): number {
  if (depth > 50) return Infinity; // fragment cycles are refused by validation; never loop here
  let total = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FRAGMENT_SPREAD) {
      const frag = fragments.get(sel.name.value);
      if (frag) total += selectionCost(frag.selectionSet, parent, parentSized, fragments, variables, depth + 1);
      continue;
    }
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      total += selectionCost(sel.selectionSet, parent, parentSized, fragments, variables, depth + 1);
      continue;
    }
    if (sel.name.value.startsWith('__')) continue;
    const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : undefined;
    const field = fields?.[sel.name.value];
    if (!field) continue;
    let multiplier = 1;
    let sized = false;
    const firstArg = field.args.find((a) => a.name === 'first');
    if (firstArg) {
      const node = sel.arguments?.find((a) => a.name.value === 'first');
      // An omitted variable leaves the argument's default in force, as it does at execution.
      const value = (node && valueFromAST(node.value, firstArg.type, variables)) ?? firstArg.defaultValue;
      multiplier = typeof value === 'number' && value > 0 ? value : LIMITS.defaultListSize;
      sized = true;
    } else if (isListType(getNullableType(field.type)) && !parentSized) {
      multiplier = LIMITS.defaultListSize;
    }
    const named = getNamedType(field.type);
    const child =
      sel.selectionSet && isCompositeType(named)
        ? selectionCost(sel.selectionSet, named, sized, fragments, variables, depth + 1)
        : 0;
    total += 1 + multiplier * child;
  }
  return total;
}
