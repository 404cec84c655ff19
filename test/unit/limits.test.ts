import { getIntrospectionQuery, GraphQLError, parse, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkLimits, LIMITS, parseQuery, queryCost } from '../../src/gateway/limits.js';
import { buildGatewaySchema } from '../../src/gateway/schema.js';
import {
  CreateDepositDocument,
  DepositDocument,
  DepositsDocument,
  DepositStatusChangedDocument,
} from '../generated/graphql.js';

const EVENT_FIELDS = 'id status providerStatus amount currency txHash network fee occurredAt receivedAt';
/** `ofType` nested `levels` times around `name`. */
const ofTypes = (levels: number) => `${'ofType { '.repeat(levels)}name${' }'.repeat(levels)}`;
const aliases = (n: number, field = 'userVerification(userId: "u")') =>
  Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');
/** `levels` fragments on Query, each spreading the next twice, the last selecting `leaf`. */
const fragmentChain = (levels: number, leaf = '__typename') =>
  [
    '{ ...F0 }',
    ...Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`),
    `fragment F${levels} on Query { ${leaf} }`,
  ].join('\n');

describe('query limits', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildGatewaySchema();
  });

  const check = (text: string, variables?: Record<string, unknown>) => checkLimits(schema, parse(text), variables);
  const cost = (text: string, variables: Record<string, unknown> = {}) => queryCost(schema, parse(text), variables);
  const codes = (errors: { extensions: Record<string, unknown> }[]) => errors.map((e) => e.extensions.code);

  describe('checkLimits', () => {
    it("accepts every operation the tests' clients send", () => {
      expect(checkLimits(schema, CreateDepositDocument, {})).toEqual([]);
      expect(checkLimits(schema, DepositDocument, { id: 'x' })).toEqual([]);
      expect(checkLimits(schema, DepositsDocument, { first: 100 })).toEqual([]);
      expect(checkLimits(schema, DepositStatusChangedDocument, {})).toEqual([]);
    });

    it('accepts a depth of 8 and refuses 9 with QUERY_TOO_COMPLEX', () => {
      // __type(1) fields(2) type(3), the ofType levels, then name.
      expect(check(`{ __type(name: "Deposit") { fields { type { ${ofTypes(4)} } } } }`)).toEqual([]);
      const refused = check(`{ __type(name: "Deposit") { fields { type { ${ofTypes(5)} } } } }`);
      expect(codes(refused)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(refused[0].message).toMatch(/depth limit of 8 exceeded, found 9/);
      expect(refused[0].message).not.toMatch(/^Syntax Error/);
    });

    it('returns a refusal rather than throwing for a query over a limit', () => {
      expect(() => check(`{ ${aliases(40)} }`)).not.toThrow();
      expect(() => check(`{ __type(name: "Deposit") { fields { type { ${ofTypes(20)} } } } }`)).not.toThrow();
    });

    it('does not count fragments as levels of depth', () => {
      const viaFragments = `
        { __type(name: "Deposit") { ...F } }
        fragment F on __Type { fields { type { ... on __Type { ${ofTypes(4)} } } } }`;
      expect(check(viaFragments)).toEqual([]);
      const tooDeep = `
        { __type(name: "Deposit") { ...F } }
        fragment F on __Type { fields { type { ... on __Type { ${ofTypes(5)} } } } }`;
      expect(codes(check(tooDeep))).toEqual(['QUERY_TOO_COMPLEX']);
    });

    it('counts introspection fields in the depth: a depth-30 __schema query is refused', () => {
      expect(check(`{ __schema { types { fields { type { ${ofTypes(3)} } } } } }`)).toEqual([]);
      const refused = check(`{ __schema { types { fields { type { ${ofTypes(25)} } } } } }`);
      expect(codes(refused)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(refused[0].message).toMatch(/depth limit of 8 exceeded, found 30/);
    });

    it('refuses the standard introspection query, which nests 13 deep (clients read schema.graphql instead)', () => {
      expect(codes(check(getIntrospectionQuery()))).toContain('QUERY_TOO_COMPLEX');
    });

    it('accepts 15 aliases and refuses 16 with QUERY_TOO_COMPLEX', () => {
      expect(check(`{ ${aliases(LIMITS.maxAliases)} }`)).toEqual([]);
      const refused = check(`{ ${aliases(LIMITS.maxAliases + 1)} }`);
      expect(codes(refused)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(refused[0].message).toMatch(/Aliases limit of 15 exceeded, found 16/);
    });

    it('counts aliases of __typename: 16 are refused, 15 accepted', () => {
      expect(check(`{ ${aliases(15, '__typename')} }`)).toEqual([]);
      expect(codes(check(`{ ${aliases(16, '__typename')} }`))).toEqual(['QUERY_TOO_COMPLEX']);
    });

    it('counts the aliases of a fragment each time it is spread', () => {
      const twice = `{ ...F ...F } fragment F on Query { ${aliases(8, '__typename')} }`;
      expect(codes(check(twice))).toEqual(['QUERY_TOO_COMPLEX']);
      expect(check(`{ ...F } fragment F on Query { ${aliases(8, '__typename')} }`)).toEqual([]);
    });

    it('refuses a fragment chain 60 deep, each spreading the next twice, without expanding it', () => {
      // Expanded, this is 2^60 fields: an implementation that expands fragments never returns.
      const refused = check(fragmentChain(60));
      expect(codes(refused)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(refused[0].message).toContain(`Query cost ${2 ** 60} exceeds`);
      expect(codes(check(fragmentChain(60, 'a: __typename')))).toEqual(['QUERY_TOO_COMPLEX']);
    });

    it('measures depth through a long fragment chain', () => {
      const chain = (n: number) =>
        [
          '{ __type(name: "Deposit") { ...T0 } }',
          ...Array.from({ length: n }, (_, i) => `fragment T${i} on __Type { ofType { ...T${i + 1} } }`),
          `fragment T${n} on __Type { name }`,
        ].join('\n');
      expect(check(chain(6))).toEqual([]);
      expect(check(chain(7))[0].message).toMatch(/depth limit of 8 exceeded, found 9/);
    });

    it('returns rather than loops on fragment cycles and unknown fragments, fields and types (validation refuses them)', () => {
      expect(check('{ ...A } fragment A on Query { ...B } fragment B on Query { __typename ...A }')).toEqual([]);
      expect(check('{ ...Missing nope { deeper } ... on Nowhere { x } }')).toEqual([]);
    });

    it('counts aliases inside fragments and nested selections', () => {
      const inFragment = `{ ...F } fragment F on Query { ${aliases(10)} x: deposits { edges { ${aliases(6, 'cursor')} } } }`;
      expect(codes(check(inFragment))).toEqual(['QUERY_TOO_COMPLEX']);
    });

    it('counts aliases in mutations, so sixteen createDeposits are refused before any runs', () => {
      const create = 'createDeposit(input: { userId: "u", currency: "USD", amount: "1" }) { clientToken }';
      expect(check(`mutation { ${aliases(15, create)} }`)).toEqual([]);
      expect(codes(check(`mutation { ${aliases(16, create)} }`))).toEqual(['QUERY_TOO_COMPLEX']);
    });

    it('accepts a cost of exactly the limit and refuses one more', () => {
      // deposits(first: n) { edges { cursor } } costs 1 + 2n; plus one for userVerification.
      const atLimit = `{ a: deposits(first: 9999) { edges { cursor } } b: userVerification(userId: "u") }`;
      expect(cost(atLimit)).toBe(LIMITS.maxCost);
      expect(check(atLimit)).toEqual([]);
      const over = `{ a: deposits(first: 10000) { edges { cursor } } }`;
      expect(cost(over)).toBe(LIMITS.maxCost + 1);
      const refused = check(over);
      expect(codes(refused)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(refused[0].message).toContain(`Query cost ${LIMITS.maxCost + 1} exceeds the limit of ${LIMITS.maxCost}`);
    });

    it('refuses two full pages of deposits with their events as too costly', () => {
      const pageOf = (alias: string) =>
        `${alias}: deposits(first: 100) { edges { cursor node { id userId status amount events { ${EVENT_FIELDS} } } } }`;
      expect(check(`{ ${pageOf('a')} }`)).toEqual([]);
      expect(codes(check(`{ ${pageOf('a')} ${pageOf('b')} }`))).toEqual(['QUERY_TOO_COMPLEX']);
    });

    it('sizes pages from variables', () => {
      const text = 'query ($n: Int) { deposits(first: $n) { edges { cursor } } }';
      expect(check(text, { n: 9999 })).toEqual([]);
      expect(codes(check(text, { n: 10000 }))).toEqual(['QUERY_TOO_COMPLEX']);
    });
  });

  describe('queryCost', () => {
    it('costs one per scalar field', () => {
      expect(cost('{ userVerification(userId: "u") }')).toBe(1);
      expect(cost('{ a: userVerification(userId: "u") b: userVerification(userId: "v") }')).toBe(2);
    });

    it('charges __typename and introspection fields like any other field', () => {
      expect(cost('{ __typename }')).toBe(1);
      // __schema(1) + types(1 + 10 x (name + fields(1 + 10 x name)))
      expect(cost('{ __schema { types { name fields { name } } } }')).toBe(1 + 1 + 10 * (1 + (1 + 10)));
      expect(cost('{ deposit(id: "x") { __typename events { __typename } } }')).toBe(1 + 1 + (1 + 10));
    });

    it('charges a fragment each time it is spread, in the context it is spread in', () => {
      expect(cost('{ ...F ...F } fragment F on Query { userVerification(userId: "u") }')).toBe(2);
      const twoPages = `{ a: deposits(first: 2) { ...C } b: deposits(first: 3) { ...C } }
        fragment C on DepositConnection { edges { cursor } }`;
      expect(cost(twoPages)).toBe(1 + 2 * 2 + (1 + 3 * 2));
    });

    it('reads first from variables inside fragments', () => {
      const text = 'query ($n: Int) { ...Q } fragment Q on Query { deposits(first: $n) { edges { cursor } } }';
      expect(cost(text, { n: 7 })).toBe(1 + 7 * 2);
      expect(cost(text, {})).toBe(1 + 20 * 2);
    });

    it('multiplies an unsized list by 10', () => {
      // balances(1) + 10 x (userId, currency, available)
      expect(cost('{ balances(userId: "u") { userId currency available } }')).toBe(1 + 10 * 3);
      // deposit(1) + events(1 + 10 x id)
      expect(cost('{ deposit(id: "x") { events { id } } }')).toBe(1 + 1 + 10 * 1);
    });

    it('multiplies a connection by its first argument, not again by its edges', () => {
      expect(cost('{ deposits(first: 5) { edges { cursor } } }')).toBe(1 + 5 * (1 + 1));
      expect(cost('{ deposits(first: 5) { edges { cursor } pageInfo { hasNextPage } } }')).toBe(
        1 + 5 * (1 + 1 + (1 + 1)),
      );
    });

    it("uses deposits' default page size of 20 when first is not given", () => {
      expect(cost('{ deposits { edges { cursor } } }')).toBe(1 + 20 * 2);
    });

    it('reads first from variables, and falls back to the default page size when the variable is left out', () => {
      const text = 'query ($n: Int) { deposits(first: $n) { edges { cursor } } }';
      expect(cost(text, { n: 7 })).toBe(1 + 7 * 2);
      expect(cost(text, {})).toBe(1 + 20 * 2);
      expect(cost(text, { n: null })).toBe(1 + 20 * 2);
    });

    it('charges a page that is not positive as an unsized list', () => {
      expect(cost('{ deposits(first: 0) { edges { cursor } } }')).toBe(1 + LIMITS.defaultListSize * 2);
      expect(cost('{ deposits(first: -3) { edges { cursor } } }')).toBe(1 + LIMITS.defaultListSize * 2);
    });

    it('charges fragments as if their fields were written in place', () => {
      const inline = `{ deposits(first: 3) { edges { node { id status events { id } } } } }`;
      const spread = `{ deposits(first: 3) { edges { node { ...D } } } } fragment D on Deposit { id ... on Deposit { status events { id } } }`;
      expect(cost(spread)).toBe(cost(inline));
      expect(cost(inline)).toBe(1 + 3 * (1 + (1 + (1 + 1 + (1 + 10)))));
    });

    it('charges every aliased copy of a field', () => {
      const one = cost('{ a: deposits(first: 4) { edges { cursor } } }');
      expect(cost('{ a: deposits(first: 4) { edges { cursor } } b: deposits(first: 4) { edges { cursor } } }')).toBe(
        2 * one,
      );
    });

    it('costs mutations and subscriptions by the same rules', () => {
      expect(
        cost('mutation { createDeposit(input: { userId: "u", currency: "USD" }) { clientToken deposit { id } } }'),
      ).toBe(1 + (1 + (1 + 1)));
      expect(cost('subscription { depositStatusChanged { cursor deposit { id events { id } } } }')).toBe(
        1 + (1 + (1 + 1 + (1 + 10))),
      );
    });
  });

  describe('parseQuery', () => {
    it(`accepts ${LIMITS.maxTokens} tokens and refuses one more with QUERY_TOO_COMPLEX`, () => {
      // `{`, the names, `}`: comments are not tokens.
      const names = (n: number) => `# a comment is not a token\n{ ${'__typename '.repeat(n)}}`;
      expect(parseQuery(names(LIMITS.maxTokens - 2)).definitions).toHaveLength(1);
      let refused: unknown;
      try {
        parseQuery(names(LIMITS.maxTokens - 1));
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(GraphQLError);
      expect((refused as GraphQLError).extensions.code).toBe('QUERY_TOO_COMPLEX');
      expect((refused as GraphQLError).message).toBe(`Document has more than ${LIMITS.maxTokens} tokens`);
    });

    it('throws syntax errors as graphql does', () => {
      expect(() => parseQuery('{ deposits { ')).toThrow(/^Syntax Error/);
    });
  });
});
