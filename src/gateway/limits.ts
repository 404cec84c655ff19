import {
  GraphQLError,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  parse,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/**
 * The query limits of the contract, one implementation for both transports (Apollo's
 * plugins do not run on graphql-ws). A query over a limit is refused before it is
 * validated or run, with `QUERY_TOO_COMPLEX`.
 *
 * Every field counts, `__typename` and introspection fields included, and fragments count
 * as if written where they are spread. Each fragment is measured once (memoized), never
 * expanded, so the work is linear in the size of the document: a few kilobytes whose
 * fragments expand to 2^60 fields are refused in microseconds.
 */
export const LIMITS = {
  maxDepth: 8,
  maxAliases: 15,
  /** Every field costs 1; a list multiplies what it selects by `first` (or 10 when unsized). */
  maxCost: 20_000,
  defaultListSize: 10,
  /**
   * Lexical tokens in one document (names, punctuation, values; comments are not tokens).
   * The operations in test/graphql have at most 80 with their fragments. graphql's own
   * validation is bounded by a budget of its own, but within that it grows with the square
   * of a document that passes the limits: about 50 ms of CPU at worst for 2,000 tokens here,
   * 100 ms for 5,000 (measured on this 2-core machine, 2026-11-26).
   */
  maxTokens: 2_000,
} as const;

function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } });
}

/**
 * Parses `source`, refusing a document of more than `LIMITS.maxTokens` tokens with
 * QUERY_TOO_COMPLEX while parsing (graphql stops lexing at the limit). Other syntax errors
 * are thrown as graphql throws them.
 */
export function parseQuery(source: string): DocumentNode {
  try {
    return parse(source, { maxTokens: LIMITS.maxTokens });
  } catch (err) {
    // graphql 16 reports the token limit as a syntax error ("contains more that N tokens", sic);
    // its text is the only sign of it, and a unit test pins it.
    if (err instanceof GraphQLError && /contains more tha[nt] \d+ tokens/.test(err.message)) {
      throw tooComplex(`Document has more than ${LIMITS.maxTokens} tokens`);
    }
    throw err;
  }
}

/** The errors for `document`, empty when it is within every limit. */
export function checkLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError[] {
  const refusals = structuralRefusals(document);
  if (refusals.length > 0) return refusals;
  const cost = queryCost(schema, document, variables ?? {});
  if (cost > LIMITS.maxCost) return [tooComplex(`Query cost ${cost} exceeds the limit of ${LIMITS.maxCost}`)];
  return [];
}

/**
 * Depth and aliases depend on the document only, and both transports reuse parsed documents:
 * checked once per document, not per request.
 */
const structuralChecks = new WeakMap<DocumentNode, GraphQLError[]>();

function structuralRefusals(document: DocumentNode): GraphQLError[] {
  let refusals = structuralChecks.get(document);
  if (refusals) return refusals;
  const { depth, aliases } = documentShape(document);
  refusals = [];
  if (depth > LIMITS.maxDepth) {
    refusals.push(tooComplex(`Query depth limit of ${LIMITS.maxDepth} exceeded, found ${depth}.`));
  }
  if (aliases > LIMITS.maxAliases) {
    refusals.push(tooComplex(`Aliases limit of ${LIMITS.maxAliases} exceeded, found ${aliases}.`));
  }
  structuralChecks.set(document, refusals);
  return refusals;
}

interface Shape {
  /** Fields on the longest path, the leaf included (`{ a { b } }` is 2). */
  depth: number;
  /** Aliased fields, each spread of a fragment counting its aliases again. */
  aliases: number;
}

const EMPTY: Shape = { depth: 0, aliases: 0 };

/** The worst depth and alias count over the document's operations. */
function documentShape(document: DocumentNode): Shape {
  const fragments = fragmentsOf(document);
  const memo = new Map<string, Shape>();
  const inProgress = new Set<string>();

  const fragmentShape = (name: string): Shape => {
    const known = memo.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    // Unknown fragments and cycles are validation errors, refused right after the limits.
    if (!fragment || inProgress.has(name)) return EMPTY;
    inProgress.add(name);
    const shape = setShape(fragment.selectionSet);
    inProgress.delete(name);
    memo.set(name, shape);
    return shape;
  };

  const setShape = (set: SelectionSetNode): Shape => {
    let depth = 0;
    let aliases = 0;
    for (const sel of set.selections) {
      let inner: Shape;
      if (sel.kind === Kind.FIELD) {
        const child = sel.selectionSet ? setShape(sel.selectionSet) : EMPTY;
        inner = { depth: 1 + child.depth, aliases: child.aliases + (sel.alias ? 1 : 0) };
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        inner = setShape(sel.selectionSet);
      } else {
        inner = fragmentShape(sel.name.value);
      }
      depth = Math.max(depth, inner.depth);
      aliases += inner.aliases;
    }
    return { depth, aliases };
  };

  let worst = EMPTY;
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const shape = setShape(def.selectionSet);
    worst = { depth: Math.max(worst.depth, shape.depth), aliases: Math.max(worst.aliases, shape.aliases) };
  }
  return worst;
}

/**
 * The cost of every operation in `document` together. A fragment's cost depends on whether
 * the field it is spread under is sized (a `first` argument: its lists are not multiplied
 * again) and on the variables, so it is memoized per fragment and sizedness, per call.
 * Fields are looked up on a fragment's type condition, where validation guarantees they exist.
 */
export function queryCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): number {
  const fragments = fragmentsOf(document);
  const memo = new Map<string, number>();
  const inProgress = new Set<string>();

  const typeNamed = (name: string | undefined, fallback: GraphQLCompositeType | undefined) => {
    if (name === undefined) return fallback;
    const type = schema.getType(name);
    return type && isCompositeType(type) ? type : undefined;
  };

  const fragmentCost = (name: string, sized: boolean): number => {
    const key = `${sized ? 's' : 'u'}:${name}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    if (!fragment || inProgress.has(key)) return 0;
    inProgress.add(key);
    const cost = setCost(fragment.selectionSet, typeNamed(fragment.typeCondition.name.value, undefined), sized);
    inProgress.delete(key);
    memo.set(key, cost);
    return cost;
  };

  const setCost = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined, parentSized: boolean): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        total += fragmentCost(sel.name.value, parentSized);
        continue;
      }
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        total += setCost(sel.selectionSet, typeNamed(sel.typeCondition?.name.value, parent), parentSized);
        continue;
      }
      const field = parent && fieldOf(schema, parent, sel.name.value);
      let multiplier = 1;
      let sized = false;
      const firstArg = field?.args.find((a) => a.name === 'first');
      if (firstArg) {
        const node = sel.arguments?.find((a) => a.name.value === 'first');
        // An omitted variable leaves the argument's default in force, as it does at execution.
        const value = (node && valueFromAST(node.value, firstArg.type, variables)) ?? firstArg.defaultValue;
        multiplier = typeof value === 'number' && value > 0 ? value : LIMITS.defaultListSize;
        sized = true;
      } else if (field && isListType(getNullableType(field.type)) && !parentSized) {
        multiplier = LIMITS.defaultListSize;
      }
      // An unknown field still costs 1 (validation refuses it); what it selects is counted without a type.
      const named = field && getNamedType(field.type);
      const childType = named && isCompositeType(named) ? named : undefined;
      const child = sel.selectionSet ? setCost(sel.selectionSet, childType, sized) : 0;
      total += 1 + multiplier * child;
    }
    return total;
  };

  let total = 0;
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const root =
      def.operation === 'query'
        ? schema.getQueryType()
        : def.operation === 'mutation'
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    total += setCost(def.selectionSet, root ?? undefined, false);
  }
  return total;
}

/** The field `name` of `parent`, the introspection fields included (as graphql's TypeInfo finds them). */
function fieldOf(
  schema: GraphQLSchema,
  parent: GraphQLCompositeType,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    // The first definition wins; a duplicate name is a validation error.
    if (def.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(def.name.value)) fragments.set(def.name.value, def);
  }
  return fragments;
}
