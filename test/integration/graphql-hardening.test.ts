import { createHmac } from 'node:crypto';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse, print, type DocumentNode } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { fixtureFor } from '../fixtures/index.js';
import { CreateDepositDocument, DepositStatusChangedDocument } from '../generated/graphql.js';
import { eventually, SECRETS, settlesWithin, startTestApp, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { connectWs, wsUrl, type WsConnection } from '../utils/ws-client.js';

/**
 * Issue 8, the GraphQL side: unauthenticated requests cost nothing, the limits count every
 * field through fragments in linear time (plus a token limit), the socket runs subscriptions
 * only and checks HMAC tenants, and no answer or log line leaks what it should not.
 */

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // not JSON (an HTML page): `text` says what it is
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

const hmac = (secret: string, text: string) => createHmac('sha512', secret).update(text).digest('base64');

/** 27 fragments, each spreading the next twice: 1 KB of text that expands to 2^27 fields. */
function fragmentExplosion(levels = 27, on = 'Query', leaf = '__typename'): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on ${on} { ...F${i + 1} ...F${i + 1} }`);
  return [
    `${on === 'Query' ? 'query' : 'subscription'} { ...F0 }`,
    ...fragments,
    `fragment F${levels} on ${on} { ${leaf} }`,
  ].join('\n');
}

const typed = (source: string) => parse(source) as DocumentNode as TypedDocumentNode<Record<string, unknown>, never>;

describe('GraphQL hardening', () => {
  let t: TestApp;
  const lines: string[] = [];
  const sockets: WsConnection[] = [];

  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    t = await startTestApp({ env: { LOG_LEVEL: 'debug' }, logStream: stream });
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const connect = (params?: Record<string, unknown>) => {
    const c = connectWs(t.gatewayUrl, params);
    sockets.push(c);
    return c;
  };

  const post = (body: unknown, headers: Record<string, string> = {}, path = '/graphql') =>
    send(`${t.gatewayUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const withKey = { 'x-api-key': '' };
  beforeAll(() => {
    withKey['x-api-key'] = t.apiKey;
  });

  describe('a request without an API key', () => {
    it.each([
      ['application/json', /^application\/json/],
      ['application/graphql-response+json', /^application\/graphql-response\+json/],
    ])('is answered 401 UNAUTHENTICATED with a GraphQL error body under %s', async (accept, contentType) => {
      const res = await post({ query: '{ __typename }' }, { accept });
      expect(res.status).toBe(401);
      expect(res.contentType).toMatch(contentType);
      expect(res.json.data ?? null).toBeNull();
      expect(res.json.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('is answered 401 on GET too', async () => {
      const res = await send(`${t.gatewayUrl}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(401);
      expect(res.json.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('is refused before its query is parsed or limited: a syntax error and a fragment explosion get the same 401', async () => {
      // Parsed, the first would be a syntax error; limited, the second QUERY_TOO_COMPLEX.
      for (const query of ['{ deposits { ', fragmentExplosion()]) {
        const res = await post({ query });
        expect(res.status).toBe(401);
        expect(res.json.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      }
    });

    it('is answered 401 before its body is read: the answer comes while most of the body is still unsent', async () => {
      const url = new URL('/graphql', t.gatewayUrl);
      const req = http.request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '60000' },
      });
      try {
        const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
          req.on('response', resolve);
          req.on('error', reject);
        });
        req.write(`{"query":"${'{ __typename } '.repeat(10)}`); // 150 of the 60,000 bytes announced
        const res = await settlesWithin(answered, 10_000, 'an answer before the body is complete');
        expect(res.statusCode).toBe(401);
        const text = await new Promise<string>((resolve) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString()));
        });
        expect(JSON.parse(text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      } finally {
        req.destroy();
      }
    });
  });

  describe('the limits count every field, through fragments, in linear time', () => {
    it('refuses 16 aliases of __typename over HTTP and accepts 15', async () => {
      const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
      const refused = await post({ query: aliases(16) }, withKey);
      expect(refused.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(refused.json.data ?? null).toBeNull();
      const accepted = await post({ query: aliases(15) }, withKey);
      expect(accepted.json.errors).toBeUndefined();
      expect(Object.keys(accepted.json.data)).toHaveLength(15);
    });

    it('refuses a depth-30 __schema query', async () => {
      const nest = (levels: number) => `${'ofType { '.repeat(levels)}name${' }'.repeat(levels)}`;
      const res = await post({ query: `{ __schema { types { fields { type { ${nest(26)} } } } } }` }, withKey);
      expect(res.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(res.json.errors?.[0].message).toMatch(/depth limit of 8 exceeded, found 31/);
    });

    // That the count is linear (each fragment measured once, never expanded) is proved in
    // test/unit/limits.test.ts on a 2^60-field chain; here, that both transports count before
    // graphql validates: a document that is also invalid (an unknown field) is refused for its cost.
    it('refuses the exponential fragment document over HTTP for its exact cost, before validating it', async () => {
      const doc = fragmentExplosion();
      expect(doc.length).toBeLessThan(1200);
      for (const query of [doc, fragmentExplosion(27, 'Query', 'noSuchField')]) {
        const res = await post({ query }, withKey);
        expect(res.json.data ?? null).toBeNull();
        expect(res.json.errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
        expect(res.json.errors?.[0].message).toBe(`Query cost ${2 ** 27} exceeds the limit of 20000`);
      }
    });

    it('refuses the exponential fragment document over the socket before validating it, query or subscription', async () => {
      const conn = connect({ apiKey: t.apiKey });
      await conn.connected;
      for (const doc of [
        typed(fragmentExplosion()),
        typed(fragmentExplosion(27, 'Query', 'noSuchField')),
        typed(fragmentExplosion(27, 'Subscription', 'depositStatusChanged { cursor }')),
        typed(fragmentExplosion(27, 'Subscription', 'noSuchField')),
      ]) {
        const op = conn.subscribe(doc);
        await op.waitForEnd();
        expect(op.events).toEqual([]);
        expect(op.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
        expect(op.errors[0].message).toMatch(/^Query cost \d+ exceeds the limit of 20000$/);
      }
      expect(conn.closes).toEqual([]);
    });

    it('refuses a document of more than 2,000 tokens with QUERY_TOO_COMPLEX, over HTTP and the socket', async () => {
      // 2,001 tokens: `{`, 1,999 names, `}`. Comments are not tokens.
      const huge = `{ ${'__typename '.repeat(1999)}}`;
      const res = await post({ query: huge }, withKey);
      expect(res.json.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(res.json.errors?.[0].message).toBe('Document has more than 2000 tokens');

      const conn = connect({ apiKey: t.apiKey });
      await conn.connected;
      const op = conn.subscribe(typed(huge));
      await op.waitForEnd();
      expect(op.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);

      const commented = await post({ query: `# ${'x '.repeat(6000)}\n{ __typename }` }, withKey);
      expect(commented.json.data).toEqual({ __typename: 'Query' });
    });
  });

  describe('the socket', () => {
    it('refuses a query with FORBIDDEN', async () => {
      const conn = connect({ apiKey: t.apiKey });
      await conn.connected;
      const op = conn.subscribe(typed('{ userVerification(userId: "u") }'));
      await op.waitForEnd();
      expect(op.events).toEqual([]);
      expect(op.errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(conn.closes).toEqual([]);
    });

    it('refuses a mutation with FORBIDDEN and creates nothing', async () => {
      const conn = connect({ apiKey: t.apiKey });
      await conn.connected;
      const op = conn.subscribe(CreateDepositDocument, {
        input: { userId: 'over-the-socket', currency: 'USD', amount: '1' },
      });
      await op.waitForEnd();
      expect(op.errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(await t.sql("select id from deposit where user_id = 'over-the-socket'")).toEqual([]);
    });

    it('applies the limits before refusing a query: an over-limit query is QUERY_TOO_COMPLEX', async () => {
      const conn = connect({ apiKey: t.apiKey });
      await conn.connected;
      const op = conn.subscribe(typed(`{ ${Array.from({ length: 16 }, (_, i) => `a${i}: __typename`).join(' ')} }`));
      await op.waitForEnd();
      expect(op.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
    });

    describe('for a tenant with an HMAC secret', () => {
      let signed: { apiKey: string; hmacSecret?: string };
      beforeAll(async () => {
        signed = await t.app.tenants.create('socket-signed', { hmac: true });
      });
      const now = () => Math.floor(Date.now() / 1000);
      const params = (timestamp: number | string, secret = signed.hmacSecret!) => ({
        apiKey: signed.apiKey,
        timestamp,
        payloadHash: hmac(secret, `${timestamp}.${signed.apiKey}`),
      });

      it.each([
        ['the API key alone', () => ({ apiKey: signed.apiKey })],
        ['no payloadHash', () => ({ apiKey: signed.apiKey, timestamp: now() })],
        ['no timestamp', () => ({ apiKey: signed.apiKey, payloadHash: hmac(signed.hmacSecret!, `.${signed.apiKey}`) })],
        ['a payloadHash made with another secret', () => params(now(), 'not-the-secret')],
        [
          'the payloadHash of another timestamp',
          () => ({ ...params(now()), payloadHash: hmac(signed.hmacSecret!, `${now() - 1}.${signed.apiKey}`) }),
        ],
        ['a timestamp 6 minutes old', () => params(now() - 360)],
        ['a timestamp 6 minutes ahead', () => params(now() + 360)],
        ['a timestamp that is not a number', () => params('soon')],
        ['a hex payloadHash', () => ({ ...params(now()), payloadHash: 'ab'.repeat(64) })],
      ] as const)('closes the socket with 4403 given %s', async (_label, make) => {
        const conn = connect(make());
        await expect(conn.closed).resolves.toMatchObject({ code: 4403 });
        await expect(conn.connected).rejects.toMatchObject({ code: 4403 });
      });

      it('serves a subscription when timestamp and payloadHash are right, 4 minutes either way', async () => {
        for (const skew of [-240, 240]) {
          const conn = connect(params(now() + skew));
          await conn.connected;
        }
        const conn = connect(params(now()));
        await conn.connected;
        const body = JSON.stringify({
          query: print(CreateDepositDocument),
          variables: { input: { userId: 'signed-socket', currency: 'USD', amount: '5' } },
        });
        const created = await post(body, {
          'x-api-key': signed.apiKey,
          'x-payload-hash': hmac(signed.hmacSecret!, body),
        });
        const id = created.json.data.createDeposit.deposit.id as string;
        const sub = conn.subscribe(DepositStatusChangedDocument, { depositId: id });
        const paid = fixtureFor('sandbox/paid.json', id).replace('"25.00"', '"5"');
        const hook = await t.postWebhook('sandbox', paid, signedHeaders(SECRETS.sandbox, paid));
        expect(hook.status).toBe(200);
        await sub.waitUntil((c) => c.events.some((e) => e.depositStatusChanged.status === 'COMPLETED'));
        expect(sub.errors).toEqual([]);
      });
    });

    it('closes a socket that sends a frame over 1 MiB with 1009 and logs one JSON line, nothing on stderr', async () => {
      const consoleError = vi.spyOn(console, 'error');
      const ws = new WebSocket(wsUrl(t.gatewayUrl), 'graphql-transport-ws');
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const from = lines.length;
      ws.send(JSON.stringify({ type: 'connection_init', payload: { apiKey: t.apiKey, pad: 'x'.repeat(1024 * 1024) } }));
      expect(await closed).toBe(1009);
      const parsed = () => lines.slice(from).map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown });
      // The line may be written just after the client has the close frame: wait for it, not for a fixed time.
      await eventually(async () => parsed().some((l) => /Max payload size exceeded/.test(JSON.stringify(l.err))));
      const logged = parsed();
      expect(consoleError).not.toHaveBeenCalled();
      expect(logged.every((l) => l.level < 50)).toBe(true);
    });
  });

  describe('answers and logs', () => {
    it('answers a persisted query whose hash does not match as not supported, never as an internal error', async () => {
      const res = await post(
        { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } },
        withKey,
      );
      expect(res.json.errors?.[0].extensions?.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
      const hashOnly = await post(
        { extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } },
        withKey,
      );
      expect(hashOnly.json.errors?.[0].extensions?.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
      expect(hashOnly.status).toBeLessThan(500);
    });

    it('suggests field names outside production', async () => {
      const res = await post({ query: '{ deposit(id: "x") { statu } }' }, withKey);
      expect(res.json.errors?.[0].message).toMatch(/Did you mean "status"/);
    });

    it('never writes a query string to the log', async () => {
      const secret = 'dgw_key_in_a_url_0123456789';
      const from = lines.length;
      const q = `query=${encodeURIComponent('{ __typename }')}&apiKey=${secret}`;
      expect((await send(`${t.gatewayUrl}/graphql?${q}`, { headers: { ...withKey } })).status).toBe(200);
      expect((await send(`${t.gatewayUrl}/graphql?${q}`, {})).status).toBe(401);
      expect((await send(`${t.gatewayUrl}/no-such-page?apiKey=${secret}`, {})).status).toBe(404);
      expect((await post({ query: '{ __typename }' }, withKey, `/graphql?apiKey=${secret}`)).status).toBe(200);
      expect((await send(`${t.gatewayUrl}/readyz?apiKey=${secret}`, {})).status).toBe(200);
      const conn = connect({ apiKey: t.apiKey });
      await conn.connected;
      const raw = new WebSocket(`${wsUrl(t.gatewayUrl)}?apiKey=${secret}`, 'graphql-transport-ws');
      await new Promise<void>((resolve) => raw.once('open', () => resolve()));
      raw.close();

      await new Promise((r) => setTimeout(r, 50));
      const written = lines.slice(from);
      for (const line of written) {
        expect(line).not.toContain(secret);
        expect(line).not.toContain('__typename');
        JSON.parse(line);
      }
      const urls = written.map((l) => (JSON.parse(l) as { url?: string }).url).filter(Boolean);
      expect(urls).toEqual(expect.arrayContaining(['/graphql', '/no-such-page']));
    });
  });

  describe('GET queries (Apollo CSRF prevention stays on)', () => {
    const get = (headers: Record<string, string>, query = '{ __typename }') =>
      send(`${t.gatewayUrl}/graphql?query=${encodeURIComponent(query)}`, { headers });

    it.each([
      ['apollo-require-preflight: true', { 'apollo-require-preflight': 'true' }],
      ['content-type: application/json', { 'content-type': 'application/json' }],
      ['only x-api-key (a header a browser cannot send without a CORS preflight)', {}],
    ])('answers a query sent with %s', async (_label, headers) => {
      const res = await get({ ...withKey, ...headers });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses a mutation over GET with 405', async () => {
      const res = await get(
        withKey,
        'mutation { createDeposit(input: { userId: "g", currency: "USD" }) { clientToken } }',
      );
      expect(res.status).toBe(405);
    });
  });

  describe('the GraphQL IDE', () => {
    const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

    it('is served to a browser outside production, with no inline script and a CSP that forbids one', async () => {
      const res = await fetch(`${t.gatewayUrl}/graphql`, { headers: html });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      const page = await res.text();
      const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThanOrEqual(4);
      for (const [, attrs, body] of scripts) {
        expect(attrs).toMatch(/\bsrc="\/[^"]+"/);
        expect(body.trim()).toBe('');
      }
      expect(page).not.toMatch(/https?:\/\//);
      // The well-known development key is offered only under NODE_ENV=development; these tests run as `test`.
      expect(page).not.toContain('dev_local_only_api_key');
      for (const [, attrs] of scripts) {
        const src = /\bsrc="([^"]+)"/.exec(attrs)![1];
        const asset = await fetch(`${t.gatewayUrl}${src}`);
        expect(asset.status).toBe(200);
        expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
      }
    });

    it('is not served under production: a browser gets the ordinary GraphQL answer', async () => {
      const prod = await startTestApp({
        env: { NODE_ENV: 'production', WEBHOOK_SECRET_SANDBOX: '' },
        background: false,
      });
      try {
        const anonymous = await send(`${prod.gatewayUrl}/graphql`, { headers: html });
        expect(anonymous.status).toBe(401);
        expect(anonymous.contentType).not.toMatch(/html/);
        const keyed = await send(`${prod.gatewayUrl}/graphql`, { headers: { ...html, 'x-api-key': prod.apiKey } });
        expect(keyed.contentType).not.toMatch(/html/);
        expect(keyed.status).toBe(400);
        expect((await fetch(`${prod.gatewayUrl}/graphiql/init.js`)).status).toBe(404);

        // Under production, validation errors name no field, over HTTP and the socket.
        const typo = await send(`${prod.gatewayUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': prod.apiKey },
          body: JSON.stringify({ query: '{ deposit(id: "x") { statu } }' }),
        });
        expect(typo.json.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
        expect(typo.json.errors?.[0].message).toMatch(/Cannot query field "statu"/);
        expect(typo.text).not.toMatch(/Did you mean/);
        const conn = connectWs(prod.gatewayUrl, { apiKey: prod.apiKey });
        try {
          await conn.connected;
          const op = conn.subscribe(typed('subscription { depositStatusChanged { cursr } }'));
          await op.waitForEnd();
          expect(op.errors[0]?.message).toMatch(/Cannot query field "cursr"/);
          expect(JSON.stringify(op.errors)).not.toMatch(/Did you mean/);
        } finally {
          await conn.dispose();
        }
      } finally {
        await prod.stop();
      }
    });
  });
});
