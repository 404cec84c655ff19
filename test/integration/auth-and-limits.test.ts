import { createHmac } from 'node:crypto';
import { parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFor } from '../fixtures/index.js';
import {
  BalancesDocument,
  CreateDepositDocument,
  DepositDocument,
  DepositsDocument,
  UserVerificationDocument,
  WalletBalancesDocument,
} from '../generated/graphql.js';
import { eventually, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { connectWs } from '../utils/ws-client.js';

interface RawAnswer {
  status: number;
  text: string;
  headers: Headers;
  json: {
    data?: any;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

/** POSTs an exact body to /graphql: the bytes that are sent are the bytes that are signed. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<RawAnswer> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, json: JSON.parse(text) as RawAnswer['json'] };
}

const payloadHash = (secret: string, body: string) => createHmac('sha512', secret).update(body).digest('base64');

const EVENT_FIELDS = 'id status providerStatus amount currency txHash network fee occurredAt receivedAt';
const costlyPage = (alias: string, first: string) =>
  `${alias}: deposits(first: ${first}) { edges { cursor node { id userId status amount events { ${EVENT_FIELDS} } } } }`;

describe('authentication, tenants and query limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.stop();
  });

  const query = (text: string, headers: Record<string, string> = {}, variables?: Record<string, unknown>) =>
    post(t.gatewayUrl, JSON.stringify({ query: text, variables }), { 'x-api-key': t.apiKey, ...headers });

  const depositCount = async () => (await t.sql<{ n: number }>('select count(*)::int as n from deposit'))[0].n;

  describe('without an API key', () => {
    const noKey = { apiKey: null };

    it('refuses createDeposit with UNAUTHENTICATED and HTTP 401, creating nothing', async () => {
      const before = await depositCount();
      const res = await t.gql(CreateDepositDocument, { input: { userId: 'u', currency: 'USD', amount: '1' } }, noKey);
      expect(res.status).toBe(401);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(await depositCount()).toBe(before);
      expect(await t.redis.keys(`${t.prefix}intent:*`)).toEqual([]);
    });

    it.each([
      ['deposit', () => t.gql(DepositDocument, { id: '00000000-0000-4000-8000-000000000000' }, noKey)],
      ['deposits', () => t.gql(DepositsDocument, {}, noKey)],
      ['balances', () => t.gql(BalancesDocument, { userId: 'u' }, noKey)],
      ['walletBalances', () => t.gql(WalletBalancesDocument, { provider: 'layer1' }, noKey)],
      ['userVerification', () => t.gql(UserVerificationDocument, { userId: 'u' }, noKey)],
    ] as const)('refuses the %s query with UNAUTHENTICATED and HTTP 401', async (name, send) => {
      const res = await send();
      expect(res.status).toBe(401);
      expect((res.data as Record<string, unknown> | null | undefined)?.[name] ?? null).toBeNull();
      expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  it('refuses a wrong API key with UNAUTHENTICATED and HTTP 401, creating nothing', async () => {
    const before = await depositCount();
    const res = await t.gql(
      CreateDepositDocument,
      { input: { userId: 'u', currency: 'USD', amount: '1' } },
      { apiKey: 'dgw_not_a_key_of_anyone' },
    );
    expect(res.status).toBe(401);
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(await depositCount()).toBe(before);
    const read = await t.gql(BalancesDocument, { userId: 'u' }, { apiKey: 'dgw_not_a_key_of_anyone' });
    expect(read.status).toBe(401);
    expect(read.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("keeps tenants apart: another tenant cannot read a tenant's deposit, list or balances", async () => {
    const created = await t.gql(CreateDepositDocument, {
      input: { userId: 'iso-user', currency: 'USD', amount: '25' },
    });
    const id = created.data!.createDeposit.deposit.id;
    const body = fixtureFor('sandbox/paid.json', id);
    expect((await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body))).status).toBe(200);
    // The owner sees its deposit completed and credited, so the other tenant's empty answers mean something.
    await eventually(async () => {
      const r = await t.gql(BalancesDocument, { userId: 'iso-user' });
      return r.data?.balances.length === 1;
    });
    expect((await t.gql(DepositDocument, { id })).data!.deposit!.id).toBe(id);

    const other = await t.app.tenants.create('isolated');
    const as = { apiKey: other.apiKey };
    const single = await t.gql(DepositDocument, { id }, as);
    expect(single.errors).toBeUndefined();
    expect(single.data!.deposit).toBeNull();
    const list = await t.gql(DepositsDocument, {}, as);
    expect(list.data!.deposits).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    const byUser = await t.gql(DepositsDocument, { userId: 'iso-user' }, as);
    expect(byUser.data!.deposits.edges).toEqual([]);
    const balances = await t.gql(BalancesDocument, { userId: 'iso-user' }, as);
    expect(balances.data!.balances).toEqual([]);
  });

  describe('a tenant with an HMAC secret', () => {
    let signed: { apiKey: string; hmacSecret?: string };
    beforeAll(async () => {
      signed = await t.app.tenants.create('signed', { hmac: true });
    });
    const createBody = (userId: string) =>
      JSON.stringify({
        query: print(CreateDepositDocument),
        variables: { input: { userId, currency: 'USD', amount: '5' } },
      });

    it('is served when x-payload-hash is the HMAC-SHA512 of the raw body', async () => {
      const body = createBody('hmac-ok');
      const res = await post(t.gatewayUrl, body, {
        'x-api-key': signed.apiKey,
        'x-payload-hash': payloadHash(signed.hmacSecret!, body),
      });
      expect(res.json.errors).toBeUndefined();
      expect(res.json.data.createDeposit.deposit.status).toBe('PENDING');
    });

    it.each([
      ['no x-payload-hash', () => ({})],
      [
        'an x-payload-hash made with another secret',
        (body: string) => ({ 'x-payload-hash': payloadHash('nope', body) }),
      ],
      [
        'the x-payload-hash of a different body',
        () => ({ 'x-payload-hash': payloadHash(signed.hmacSecret!, createBody('someone-else')) }),
      ],
      ['an empty x-payload-hash', () => ({ 'x-payload-hash': '' })],
      [
        'a hex x-payload-hash',
        (body: string) => ({ 'x-payload-hash': createHmac('sha512', signed.hmacSecret!).update(body).digest('hex') }),
      ],
    ] as const)('is refused with errorHmacDoesNotMatch given %s, creating nothing', async (_label, hashHeader) => {
      const before = await depositCount();
      const body = createBody('hmac-refused');
      const res = await post(t.gatewayUrl, body, { 'x-api-key': signed.apiKey, ...hashHeader(body) });
      expect(res.json.data ?? null).toBeNull();
      expect(res.json.errors?.[0].extensions?.code).toBe('errorHmacDoesNotMatch');
      expect(await depositCount()).toBe(before);
    });

    it('refuses a body changed after signing', async () => {
      const body = createBody('hmac-tampered');
      const hash = payloadHash(signed.hmacSecret!, body);
      const tampered = body.replace('"5"', '"500"');
      expect(tampered).not.toBe(body);
      const res = await post(t.gatewayUrl, tampered, { 'x-api-key': signed.apiKey, 'x-payload-hash': hash });
      expect(res.json.errors?.[0].extensions?.code).toBe('errorHmacDoesNotMatch');
    });

    it('never shows the API key or the HMAC secret in any answer', async () => {
      const secrets = [signed.apiKey, signed.hmacSecret!, t.apiKey];
      const body = createBody('hmac-leak');
      const answers: RawAnswer[] = [
        await post(t.gatewayUrl, body, {
          'x-api-key': signed.apiKey,
          'x-payload-hash': payloadHash(signed.hmacSecret!, body),
        }),
        await post(t.gatewayUrl, body, { 'x-api-key': signed.apiKey, 'x-payload-hash': 'wrong' }),
        await post(t.gatewayUrl, body, { 'x-api-key': signed.apiKey }),
        await post(t.gatewayUrl, body, { 'x-api-key': `${signed.apiKey}x` }),
        await query('{ nope }'),
        await query('{ deposits(first: 1000) { edges { cursor } } }'),
        await query(`{ deposits { edges { node { id userId events { ${EVENT_FIELDS} } } } } }`),
        await query('mutation { createDeposit(input: { userId: "", currency: "USD" }) { clientToken } }'),
        await query('{ __schema { types { name fields { name } } } }'),
      ];
      expect(answers[0].json.data.createDeposit.clientToken).toMatch(/^ct_/);
      for (const a of answers) {
        const headerText = [...a.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
        for (const s of secrets) {
          expect(a.text).not.toContain(s);
          expect(headerText).not.toContain(s);
        }
      }
    });
  });

  describe('query limits', () => {
    it('refuses a query deeper than 8 with QUERY_TOO_COMPLEX, and accepts depth 8', async () => {
      const nest = (levels: number) => `${'ofType { '.repeat(levels)}name${' }'.repeat(levels)}`;
      // __type(1) fields(2) type(3), then ofType levels, then name.
      const deep = await query(`{ __type(name: "Deposit") { fields { type { ${nest(5)} } } } }`);
      expect(deep.json.data ?? null).toBeNull();
      expect(deep.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      const ok = await query(`{ __type(name: "Deposit") { fields { type { ${nest(4)} } } } }`);
      expect(ok.json.errors).toBeUndefined();
      expect(ok.json.data.__type.fields.length).toBeGreaterThan(0);
    });

    it('refuses more than 15 aliases with QUERY_TOO_COMPLEX before running anything', async () => {
      const before = await depositCount();
      const mutation = (n: number) =>
        `mutation { ${Array.from(
          { length: n },
          (_, i) =>
            `a${i}: createDeposit(input: { userId: "alias-${n}", currency: "USD", amount: "1" }) { clientToken }`,
        ).join(' ')} }`;
      const refused = await query(mutation(16));
      expect(refused.json.data ?? null).toBeNull();
      expect(refused.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(await depositCount()).toBe(before);

      const accepted = await query(mutation(15));
      expect(accepted.json.errors).toBeUndefined();
      expect(Object.keys(accepted.json.data)).toHaveLength(15);
      expect(await depositCount()).toBe(before + 15);
    });

    it('refuses a query whose cost is over the limit with QUERY_TOO_COMPLEX, and accepts half of it', async () => {
      const half = await query(`{ ${costlyPage('a', '100')} }`);
      expect(half.json.errors).toBeUndefined();
      const refused = await query(`{ ${costlyPage('a', '100')} ${costlyPage('b', '100')} }`);
      expect(refused.json.data ?? null).toBeNull();
      expect(refused.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(refused.json.errors?.[0].message).toMatch(/cost/i);
    });

    it('counts a page size given as a variable', async () => {
      const text = `query ($n: Int) { ${costlyPage('a', '$n')} ${costlyPage('b', '$n')} }`;
      const refused = await query(text, {}, { n: 100 });
      expect(refused.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      const small = await query(text, {}, { n: 5 });
      expect(small.json.errors).toBeUndefined();
    });

    it('counts the default page size when the page-size variable is left out', async () => {
      // Without $n, deposits pages by 20; 20 x (1 + 100 aliased event lists of 10) is over the limit.
      const events = Array.from({ length: 10 }, (_, i) => `e${i}: events { ${EVENT_FIELDS} }`).join(' ');
      const text = `query ($n: Int) { deposits(first: $n) { edges { node { ${events} } } } }`;
      const res = await query(text, {}, {});
      expect(res.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    });
  });

  describe('GraphQL over HTTP', () => {
    it.each([
      ['a validation error', '{ nope }', 'GRAPHQL_VALIDATION_FAILED'],
      ['a syntax error', '{ deposits { ', 'GRAPHQL_PARSE_FAILED'],
      ['a query over the limits', `{ ${costlyPage('a', '100')} ${costlyPage('b', '100')} }`, 'QUERY_TOO_COMPLEX'],
    ])(
      'answers %s with 4xx under application/graphql-response+json and 200 under application/json',
      async (_label, text, code) => {
        const modern = await query(text, { accept: 'application/graphql-response+json' });
        expect(modern.status).toBeGreaterThanOrEqual(400);
        expect(modern.status).toBeLessThan(500);
        expect(modern.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
        expect(modern.json.errors?.[0].extensions?.code).toBe(code);

        const legacy = await query(text, { accept: 'application/json' });
        expect(legacy.status).toBe(200);
        expect(legacy.headers.get('content-type')).toMatch(/^application\/json/);
        expect(legacy.json.errors?.[0].extensions?.code).toBe(code);
      },
    );

    it('answers a Decimal sent as a JSON number as a field error naming it, 200 under either media type', async () => {
      const text = print(CreateDepositDocument);
      const variables = { input: { userId: 'num', currency: 'USD', amount: 25 } };
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        const res = await query(text, { accept }, variables);
        // Refused by the service (it reaches execution), so the answer carries `data: null` and is a 200.
        expect(res.status).toBe(200);
        expect(res.json.data).toBeNull();
        expect(res.json.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'amount' });
      }
    });

    it('answers a successful query with 200 under either media type', async () => {
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        const res = await query('{ userVerification(userId: "nobody") }', { accept });
        expect(res.status).toBe(200);
        expect(res.json.data).toEqual({ userVerification: 'UNVERIFIED' });
      }
    });

    it('refuses a body that is not JSON with 400', async () => {
      const res = await fetch(`${t.gatewayUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': t.apiKey },
        body: '{ not json',
      });
      expect(res.status).toBe(400);
    });
  });

  describe('introspection', () => {
    it('is allowed outside production', async () => {
      const res = await query('{ __schema { queryType { name } } }');
      expect(res.json.errors).toBeUndefined();
      expect(res.json.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    });

    it('is refused under NODE_ENV=production, which also hides stack traces', async () => {
      const prod = await startTestApp({
        env: { NODE_ENV: 'production', WEBHOOK_SECRET_SANDBOX: '' },
        background: false,
      });
      try {
        const introspect = await post(
          prod.gatewayUrl,
          JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
          {
            'x-api-key': prod.apiKey,
          },
        );
        expect(introspect.json.data ?? null).toBeNull();
        expect(introspect.json.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
        expect(introspect.json.errors?.[0].message).toMatch(/introspection/i);
        const typeQuery = await post(
          prod.gatewayUrl,
          JSON.stringify({ query: '{ __type(name: "Deposit") { name } }' }),
          {
            'x-api-key': prod.apiKey,
          },
        );
        expect(typeQuery.json.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
        const refused = await post(prod.gatewayUrl, JSON.stringify({ query: '{ nope }' }), {
          'x-api-key': prod.apiKey,
        });
        expect(refused.json.errors?.[0].extensions?.stacktrace).toBeUndefined();
        const served = await prod.gql(UserVerificationDocument, { userId: 'nobody' });
        expect(served.data).toEqual({ userVerification: 'UNVERIFIED' });

        // The socket runs subscriptions only, so an introspection query is refused there too.
        const conn = connectWs(prod.gatewayUrl, { apiKey: prod.apiKey });
        try {
          await conn.connected;
          const op = conn.subscribe(parse('query { __schema { queryType { name } } }') as never);
          await op.waitForEnd();
          expect(op.events).toEqual([]);
          expect(op.errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
        } finally {
          await conn.dispose();
        }
      } finally {
        await prod.stop();
      }
    });
  });
});
