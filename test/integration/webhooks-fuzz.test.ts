import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { LosslessNumber, parse, stringify } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dec } from '../../src/domain/money.js';
import { INBOX_RETRY, InboxProcessor } from '../../src/services/inbox-processor.js';
import { CreateDepositDocument, type CreateDepositInput } from '../generated/graphql.js';
import { loadFixture, withReference, withSessionToken } from '../fixtures/index.js';
import { SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { instapHeaders, signedHeaders } from '../utils/signing.js';

/**
 * A property-based fuzz of every provider's webhook schema through a real sidecar: mutated
 * seed payloads (fields removed, retyped, set to hostile strings, exponent numbers, absurd
 * amounts and times, nested junk) and arbitrary bodies, each signed, POSTed and checked:
 *
 * - a validly signed body is answered 200 or 400, never anything else (no 5xx);
 * - a body signed wrongly is answered 401 and stores nothing;
 * - a 400 stores nothing; a 200 is in the inbox, applied or recorded with its reason;
 * - once the processor has had its attempts, no accepted event is waiting, and none was given up.
 *
 * Bounded: FUZZ_RUNS bodies per provider (default 40) plus as many arbitrary ones, a few
 * seconds in all. The seed is fixed (FUZZ_SEED overrides it); fast-check prints it, and the
 * path to the smallest failing body, on failure.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

type Provider = keyof typeof SECRETS;
const PROVIDERS: Provider[] = ['sandbox', 'layer1', 'depasify', 'finrax', 'instap'];

/** The seed documents' payloads, per provider. */
const SEEDS: Record<Provider, string[]> = {
  sandbox: ['sandbox/paid.json', 'sandbox/failed.json'],
  layer1: [
    'layer1/01-detected.json',
    'layer1/02-unconfirmed.json',
    'layer1/03-confirmed.json',
    'layer1/04-screening-requested.json',
    'layer1/05-success.json',
    'layer1/balance-1.json',
    'layer1/balance-2.json',
  ],
  depasify: [
    'depasify/fiat_payment_received.json',
    'depasify/blockchain_payment_received.json',
    'depasify/fiat_payment_failed.json',
    'depasify/fiat_payment_sent.json',
    'depasify/blockchain_payment_enqueued.json',
    'depasify/identification_pending.json',
    'depasify/identification_verified.json',
    'depasify/identification_rejected.json',
    'depasify/identification_retry.json',
  ],
  finrax: ['finrax/confirmed.json', 'finrax/unconfirmed.json'],
  instap: ['instap/completed.json', 'instap/expired.json', 'instap/failed.json', 'instap/new.json'],
};

/** Deposits the seeds would complete (each its own user: one credit per balance at most). */
const DEPOSIT_INPUT: Record<Provider, Omit<CreateDepositInput, 'userId'>> = {
  sandbox: { currency: 'USD', amount: '25.00' },
  layer1: { provider: 'layer1', currency: 'ETH', amount: '0.20' },
  depasify: { provider: 'depasify', currency: 'EUR', amount: '250' },
  finrax: { provider: 'finrax', currency: 'EUR', amount: '250' },
  instap: { provider: 'instap', currency: 'USD', amount: '25' },
};
const DEPOSITS_PER_PROVIDER = 5;

const OK_OUTCOMES = ['applied', 'unchanged', 'unmatched', 'unsupported'];

/** Stand-ins for finrax's and instap's APIs, so their deposits can be created; instap's token is derived from the user. */
async function fakeProviderApis(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = randomUUID();
      const answer =
        req.url === '/pgpub/session'
          ? {
              sessionToken: `tok-${(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { userId: string }).userId}`,
              checkOutUrl: `https://checkout.instap.example/${id}`,
            }
          : { paymentId: id, paymentUrl: `https://pay.finrax.example/${id}` };
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---------------------------------------------------------------- values

/** A fresh copy: values go into a tree that later mutations may change in place. */
const cloneJson = (v: unknown): unknown => parse(stringify(v) as string);

const numberText = fc.oneof(
  // Exponent forms, as Java and JavaScript print them, and some no sender should.
  fc
    .tuple(
      fc.constantFrom('', '-'),
      fc.stringMatching(/^[1-9]\d{0,19}$/),
      fc.option(fc.stringMatching(/^\d{1,20}$/), { nil: undefined }),
      fc.constantFrom('e', 'E'),
      fc.constantFrom('', '+', '-'),
      fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(999_999_999, 2_147_483_648)),
    )
    .map(([sign, int, frac, e, expSign, exp]) => `${sign}${int}${frac ? `.${frac}` : ''}${e}${expSign}${exp}`),
  // Plain decimals: ordinary, too many digits either side, negative, zeros.
  fc
    .tuple(
      fc.constantFrom('', '-'),
      fc.stringMatching(/^(0|[1-9]\d{0,39})$/),
      fc.option(fc.stringMatching(/^\d{1,30}$/), { nil: undefined }),
    )
    .map(([sign, int, frac]) => `${sign}${int}${frac ? `.${frac}` : ''}`),
  fc.constantFrom('0', '-0', '0.0e5', '25', '25.00', '0.20', '250', '1e-7', '1.0E-4', '1E+2', '-0.5e3', '1717620062'),
);

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\udcb8', '\u202e', '\ufeff', '\uffff', '\\', '"'),
      fc.string({ maxLength: 10 }),
    )
    .map(([a, b, c]) => a + b + c),
  fc.constantFrom(
    '',
    ' ',
    'null',
    '0000-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '9999-12-31T23:59:59Z',
    '9999-12-31T23:59:59-05:00',
    '2024-02-30T00:00:00Z',
    '2024-06-05T20:40:31.419360016Z',
    'yesterday',
    '__proto__',
    'constructor',
  ),
);

/** Strings of up to 200,000 characters: three of them still fit in a body under 1 MiB. */
const hugeString = fc.integer({ min: 5_000, max: 200_000 }).map((n) => 'x'.repeat(n));

/** Arrays nested up to 300 deep. */
const nested = fc.integer({ min: 1, max: 300 }).map((depth) => parse('['.repeat(depth) + ']'.repeat(depth)));

function junk(seedStrings: string[]) {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...seedStrings) },
    { weight: 3, arbitrary: numberText.map((t) => new LosslessNumber(t)) },
    { weight: 2, arbitrary: numberText },
    { weight: 3, arbitrary: hostileString },
    { weight: 1, arbitrary: hugeString },
    { weight: 1, arbitrary: nested },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('null', 'true', 'false', 'object', 'array')
        .map((k) => parse(k === 'object' ? '{}' : k === 'array' ? '[]' : k)),
    },
  );
}

/** Every string in a parsed seed (statuses, events, currencies): swapping them reaches every mapping. */
function stringsOf(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') out.add(value);
  else if (value instanceof LosslessNumber) out.add(value.value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsOf(v, out);
  return out;
}

// ---------------------------------------------------------------- mutations

/**
 * One change to a payload. `at` picks a place among those the change applies to (any
 * place; a string; a number; a time), modulo their count, so every value is meaningful
 * for every seed and shrinks well. The targeted changes keep the rest of the payload
 * valid, so a hostile value travels as far as it can: into the rules and the database.
 */
type Mutation =
  | { at: number; kind: 'remove' | 'retype' }
  | { at: number; kind: 'set'; value: unknown }
  | { at: number; kind: 'taint'; char: string; pos: number }
  | { at: number; kind: 'renumber'; shift: number; e: 'e' | 'E'; plus: boolean; asString: boolean }
  | { at: number; kind: 'rescale'; to: string }
  | { at: number; kind: 'retime'; to: unknown };

type Container = Record<string, unknown> | unknown[];
interface Slot {
  parent: Container;
  key: string | number;
  value: unknown;
}

/** Every place in the tree below the root, in document order. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      node.forEach((value, key) => {
        out.push({ parent: node, key, value });
        walk(value);
      });
    } else if (node && typeof node === 'object' && !(node instanceof LosslessNumber)) {
      for (const [key, value] of Object.entries(node)) {
        out.push({ parent: node as Record<string, unknown>, key, value });
        walk(value);
      }
    }
  };
  walk(root);
  return out;
}

const DECIMAL_TEXT = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const numberTextOf = (v: unknown): string | undefined =>
  v instanceof LosslessNumber ? v.value : typeof v === 'string' && DECIMAL_TEXT.test(v) ? v : undefined;
const isTime = (v: unknown): boolean =>
  (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) || /^1\d{9}$/.test(numberTextOf(v) ?? '');

/** The same value as `text`, written as `mantissa e shift` (decimal.js does the arithmetic, exactly). */
function exponentForm(text: string, shift: number, e: 'e' | 'E', plus: boolean): string {
  // A value another change made absurd (1e999999999) stays as it is: writing it out is the fuzzer's own OOM.
  if (Math.abs(new Dec(text).e) > 100) return text;
  const mantissa = new Dec(text).div(new Dec(10).pow(shift)).toFixed();
  return `${mantissa}${e}${shift < 0 ? '-' : plus ? '+' : ''}${Math.abs(shift)}`;
}

/** The same content in another JSON type: "25" ↔ 25, an object ↔ an array of its values, a value ↔ [value]. */
function retype(v: unknown): unknown {
  if (v instanceof LosslessNumber) return v.value;
  if (typeof v === 'string') return DECIMAL_TEXT.test(v) && !/^-?0\d/.test(v) ? new LosslessNumber(v) : [v];
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  if (v && typeof v === 'object') return Object.values(v);
  return String(v);
}

function mutate(root: unknown, mutations: Mutation[]): unknown {
  for (const m of mutations) {
    const all = slots(root);
    const among =
      m.kind === 'taint'
        ? all.filter((s) => typeof s.value === 'string')
        : m.kind === 'renumber' || m.kind === 'rescale'
          ? all.filter((s) => numberTextOf(s.value) !== undefined)
          : m.kind === 'retime'
            ? all.filter((s) => isTime(s.value))
            : all;
    if (among.length === 0) continue;
    const { parent, key, value } = among[m.at % among.length];
    const set = (v: unknown) => ((parent as Record<string | number, unknown>)[key] = v);
    const asNumberLike = (text: string) => (value instanceof LosslessNumber ? new LosslessNumber(text) : text);
    switch (m.kind) {
      case 'remove':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 'retype':
        set(retype(value));
        break;
      case 'set':
        set(cloneJson(m.value));
        break;
      case 'taint': {
        const text = value as string;
        const at = m.pos % (text.length + 1);
        set(text.slice(0, at) + m.char + text.slice(at));
        break;
      }
      case 'renumber': {
        const written = exponentForm(numberTextOf(value)!, m.shift, m.e, m.plus);
        set(m.asString ? written : new LosslessNumber(written));
        break;
      }
      case 'rescale':
        set(asNumberLike(m.to));
        break;
      case 'retime':
        set(cloneJson(m.to));
        break;
    }
  }
  return root;
}

const EDGE_TIMES: unknown[] = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59-05:00',
  '2024-02-30T00:00:00Z',
  new Date().toISOString(),
  new LosslessNumber('999999999999'),
  new LosslessNumber('1e15'),
  new LosslessNumber('-1'),
  new LosslessNumber('0'),
  new LosslessNumber('1.717620062E9'),
  new LosslessNumber(String(Math.floor(Date.now() / 1000) + 86_400 * 365)),
];

function mutation(seedStrings: string[]): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  return fc.oneof(
    { weight: 1, arbitrary: fc.record({ at, kind: fc.constantFrom('remove' as const, 'retype' as const) }) },
    { weight: 3, arbitrary: fc.record({ at, kind: fc.constant('set' as const), value: junk(seedStrings) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        at,
        kind: fc.constant('taint' as const),
        char: fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\udcb8', '\u202e', '\ufeff', '"', '\\', 'é'),
        pos: fc.nat(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        at,
        kind: fc.constant('renumber' as const),
        shift: fc.integer({ min: -25, max: 25 }),
        e: fc.constantFrom('e' as const, 'E' as const),
        plus: fc.boolean(),
        asString: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        at,
        kind: fc.constant('rescale' as const),
        to: fc.constantFrom(
          '-25',
          '0',
          '1e999999999',
          '1e-999999999',
          '9'.repeat(19),
          '1e18',
          '1e-19',
          '0.' + '1'.repeat(19),
          '999999999999999999.999999999999999999',
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ at, kind: fc.constant('retime' as const), to: fc.constantFrom(...EDGE_TIMES) }),
    },
  );
}

// ---------------------------------------------------------------- signing

type Signing = 'valid' | 'stale' | 'wrong-secret' | 'tampered';
const signing = fc.oneof(
  { weight: 17, arbitrary: fc.constant<Signing>('valid') },
  { weight: 1, arbitrary: fc.constantFrom<Signing>('stale', 'wrong-secret', 'tampered') },
);

function headersFor(provider: Provider, body: Buffer, how: Signing): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  if (provider === 'instap') {
    return how === 'valid' || how === 'tampered'
      ? instapHeaders(SECRETS.instap, body)
      : instapHeaders('not-the-instap-secret', body);
  }
  if (how === 'stale') return signedHeaders(SECRETS[provider], body, { timestamp: now - 3600 });
  if (how === 'wrong-secret') return signedHeaders(SECRETS[provider === 'layer1' ? 'sandbox' : 'layer1'], body);
  return signedHeaders(SECRETS[provider], body);
}

function dedupeKey(provider: Provider, body: Buffer, headers: Record<string, string>): string {
  return provider === 'instap' ? createHash('sha256').update(body).digest('hex') : headers['webhook-id'];
}

// ---------------------------------------------------------------- the test

describe('fuzzing every provider schema through a real sidecar', () => {
  let t: TestApp;
  let apis: Awaited<ReturnType<typeof fakeProviderApis>>;
  const refs = {} as Record<Provider, string[]>;
  /** Answers seen, per provider and status, for the coverage check. */
  const seen: Record<string, number> = {};

  beforeAll(async () => {
    apis = await fakeProviderApis();
    // No background processor: the last test drives it, so what waits is seen, not raced.
    t = await startTestApp({
      background: false,
      env: {
        FINRAX_API_URL: apis.url,
        FINRAX_API_KEY: 'finrax-key',
        INSTAP_API_URL: apis.url,
        INSTAP_API_KEY: 'instap-key',
        INSTAP_HMAC_SECRET: 'instap-hmac',
      },
    });
    for (const provider of PROVIDERS) {
      refs[provider] = [randomUUID(), 'not-a-deposit-id'];
      for (let i = 0; i < DEPOSITS_PER_PROVIDER; i++) {
        const userId = `fuzz-${provider}-${i}`;
        const r = await t.gql(CreateDepositDocument, { input: { userId, ...DEPOSIT_INPUT[provider] } });
        expect(r.errors).toBeUndefined();
        refs[provider].push(provider === 'instap' ? `tok-${userId}` : r.data!.createDeposit.deposit.id);
      }
    }
  });
  afterAll(async () => {
    await t?.stop();
    await apis?.close();
  });

  async function inboxRow(provider: Provider, key: string) {
    const rows = await t.sql(
      'select processed_at, outcome, error from webhook_inbox where provider = $1 and dedupe_key = $2',
      [provider, key],
    );
    return rows[0] as { processed_at: Date | null; outcome: string | null; error: string | null } | undefined;
  }

  async function inboxCount(): Promise<number> {
    return (await t.sql('select count(*)::int as n from webhook_inbox'))[0].n;
  }

  /** POSTs one body and checks everything the answer promises. */
  async function deliver(provider: Provider, body: Buffer, how: Signing, resend: boolean): Promise<void> {
    const headers = headersFor(provider, body, how);
    const sent = how === 'tampered' ? Buffer.concat([body, Buffer.from(' ')]) : body;
    const stored = await inboxCount();
    const r = await t.postWebhook(provider, sent, headers);
    const key = dedupeKey(provider, sent, headers);
    seen[`${provider} ${r.status}`] = (seen[`${provider} ${r.status}`] ?? 0) + 1;

    if (how !== 'valid') {
      expect(r.status, JSON.stringify(r.json)).toBe(401);
      expect(await inboxCount(), 'a 401 stores nothing').toBe(stored);
      return;
    }
    expect([200, 400], JSON.stringify(r.json)?.slice(0, 500)).toContain(r.status);
    if (r.status === 400) {
      expect(r.json).toMatchObject({ code: 'MALFORMED_PAYLOAD', message: expect.any(String) });
      expect(await inboxCount(), 'a 400 stores nothing').toBe(stored);
    } else {
      expect(['accepted', 'duplicate']).toContain(r.json.status);
      const row = await inboxRow(provider, key);
      expect(row, 'a 200 is stored').toBeDefined();
      const applied = row!.processed_at !== null && OK_OUTCOMES.includes(row!.outcome ?? '');
      expect(applied || !!row!.error, `applied or recorded with its reason: ${JSON.stringify(row)}`).toBe(true);
      if (applied) seen[`${provider} ${row!.outcome}`] = (seen[`${provider} ${row!.outcome}`] ?? 0) + 1;
    }
    if (resend) {
      const again = await t.postWebhook(provider, sent, headers);
      expect(again.status).toBe(r.status);
      if (r.status === 200) expect(again.json).toEqual({ status: 'duplicate' });
    }
  }

  it.each(PROVIDERS)(`answers mutated, signed %s payloads 200, 400 or 401 (seed ${SEED})`, async (provider) => {
    const seeds = SEEDS[provider].map(loadFixture);
    const seedStrings = [...new Set(seeds.flatMap((s) => [...stringsOf(parse(s))]))];
    const payload = fc.record({
      seed: fc.constantFrom(...seeds),
      ref: fc.constantFrom(...refs[provider]),
      mutations: fc.array(mutation(seedStrings), { maxLength: 3 }),
      how: signing,
      resend: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(payload, async ({ seed, ref, mutations, how, resend }) => {
        const text = provider === 'instap' ? withSessionToken(seed, ref) : withReference(seed, ref);
        const body = Buffer.from(stringify(mutate(parse(text), mutations)) as string, 'utf8');
        await deliver(provider, body, how, resend);
      }),
      { seed: SEED + PROVIDERS.indexOf(provider), numRuns: RUNS },
    );
    // The fuzz reached both sides of the parser and the rules, not only its refusals.
    expect(seen[`${provider} 200`], JSON.stringify(seen)).toBeGreaterThan(5);
    expect(seen[`${provider} 400`], JSON.stringify(seen)).toBeGreaterThan(5);
  });

  it(`answers a seed whose numbers are rewritten in exponent form as it answers the seed (seed ${SEED})`, async () => {
    const seeds = PROVIDERS.flatMap((provider) => SEEDS[provider].map((path) => ({ provider, path })));
    const rewrite = fc.record({
      at: fc.nat(),
      kind: fc.constant('renumber' as const),
      shift: fc.integer({ min: -25, max: 25 }),
      e: fc.constantFrom('e' as const, 'E' as const),
      plus: fc.boolean(),
      asString: fc.constant(false),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...seeds),
        fc.array(rewrite, { minLength: 1, maxLength: 3 }),
        async (s, rewrites) => {
          const text =
            s.provider === 'instap'
              ? withSessionToken(loadFixture(s.path), refs.instap[0])
              : withReference(loadFixture(s.path), refs[s.provider][0]);
          const plain = await t.postWebhook(s.provider, text, headersFor(s.provider, Buffer.from(text), 'valid'));
          const body = Buffer.from(stringify(mutate(parse(text), rewrites)) as string);
          const rewritten = await t.postWebhook(s.provider, body, headersFor(s.provider, body, 'valid'));
          expect(rewritten.status, `${body.toString()}: ${JSON.stringify(rewritten.json)}`).toBe(plain.status);
        },
      ),
      { seed: SEED + 200, numRuns: RUNS },
    );
  });

  it(`answers arbitrary signed bodies (any JSON, any text, any bytes) 200, 400 or 401 (seed ${SEED})`, async () => {
    const anyBody = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8')),
      fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.integer({ min: 1, max: 5_000 }).map((d) => Buffer.from('{"a":'.repeat(d) + '1' + '}'.repeat(d))),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PROVIDERS), anyBody, signing, async (provider, body, how) => {
        await deliver(provider, body, how, false);
      }),
      { seed: SEED + 100, numRuns: RUNS },
    );
  });

  it('leaves no accepted event waiting, and none given up, once the processor has had its attempts', async () => {
    const accepted = await t.sql('select count(*)::int as n from webhook_inbox');
    expect(accepted[0].n).toBeGreaterThan(PROVIDERS.length * 5);
    expect(Object.keys(seen).filter((k) => k.endsWith(' applied')).length, JSON.stringify(seen)).toBeGreaterThan(2);

    // The real schedule, without its waits: every attempt the processor would make, at once.
    const processor = new InboxProcessor(t.app.orm, t.app.providers, t.app.applier, t.app.logger, {
      firstRetryMs: 0,
    });
    for (let pass = 0; pass <= INBOX_RETRY.maxAttempts; pass++) {
      if ((await processor.processPending(0, 1000)) === 0) break;
    }
    expect(await t.sql('select id, error from webhook_inbox where processed_at is null')).toEqual([]);
    const gaveUp = await t.sql(
      `select id, provider, error, left(body, 300) as body from webhook_inbox where outcome not in ('applied', 'unchanged', 'unmatched', 'unsupported')`,
    );
    expect(gaveUp).toEqual([]);
  });
});
