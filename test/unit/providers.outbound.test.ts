import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderUnavailableError } from '../../src/lib/errors.js';
import { createProviderRegistry } from '../../src/providers/registry.js';
import type { PaymentStarter, StartPaymentRequest } from '../../src/providers/provider.js';
import { finrax } from '../../src/providers/finrax.provider.js';
import type { ApiOf } from '../../src/providers/index.js';
import { instap } from '../../src/providers/instap.provider.js';
import { generateWhsecSecret } from '../../src/lib/signatures/standard-webhooks.js';

// The provider modules under the names these tests were written with.
const LINKS = { publicUrl: 'http://localhost:4000' };
const createFinraxStarter = (api: ApiOf<typeof finrax>) => finrax.starter!(api, LINKS);
const createInstapStarter = (api: ApiOf<typeof instap>) => instap.starter!(api, LINKS);

/**
 * The outbound half against a local stand-in for each provider, which checks
 * the request the way the provider would before answering.
 */

interface Received {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Behaviour = (req: Received, res: ServerResponse) => void;

/** A provider on a free port; each test sets how it behaves. */
async function fakeProvider(): Promise<{
  url: string;
  server: Server;
  received: Received[];
  behave(b: Behaviour): void;
}> {
  const received: Received[] = [];
  let behaviour: Behaviour = (_, res) => res.writeHead(500).end();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(r);
      behaviour(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, received, behave: (b) => (behaviour = b) };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

const request: StartPaymentRequest = {
  depositId: '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d',
  userId: 'user-42',
  userName: 'Jane',
  userEmail: 'jane@example.com',
  language: 'en',
  currency: 'EUR',
  amount: '0.123456789012345678',
  redirectUrl: 'https://shop.example/done',
};

const signal = () => AbortSignal.timeout(5000);

describe('instap session starter', () => {
  const API_KEY = 'instap-api-key';
  const HMAC = 'instap-hmac-secret';
  let provider: Awaited<ReturnType<typeof fakeProvider>>;
  let starter: PaymentStarter;

  /** instap's check: the key, and the hash of the exact bytes received. */
  const instapAccepts: Behaviour = (req, res) => {
    const expected = Buffer.from(createHmac('sha512', HMAC).update(req.body).digest('base64'));
    const given = Buffer.from(String(req.headers['x-payload-hash'] ?? ''));
    if (req.headers['x-api-key'] !== API_KEY) return json(res, 401, { error: 'invalid api key' });
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return json(res, 401, { error: 'errorHmacDoesNotMatch' });
    }
    json(res, 200, { sessionToken: 'OPN-1', checkOutUrl: 'https://checkout.instap.example/OPN-1' });
  };

  beforeAll(async () => {
    provider = await fakeProvider();
    starter = createInstapStarter({ apiUrl: `${provider.url}/`, apiKey: API_KEY, hmacSecret: HMAC });
  });
  afterAll(async () => {
    provider.server.closeAllConnections();
    await new Promise((resolve) => provider.server.close(resolve));
  });
  beforeEach(() => {
    provider.received.length = 0;
  });

  it('opens a session signed with x-payload-hash and returns its checkout and token', async () => {
    provider.behave(instapAccepts);
    await expect(starter.start(request, signal())).resolves.toEqual({
      checkoutUrl: 'https://checkout.instap.example/OPN-1',
      providerRef: 'OPN-1',
    });
    const [sent] = provider.received;
    expect(sent.method).toBe('POST');
    expect(sent.url).toBe('/pgpub/session');
    expect(sent.headers['content-type']).toBe('application/json');
  });

  it('sends a fixed amount as min and max, as JSON numbers with every digit', async () => {
    provider.behave(instapAccepts);
    await starter.start(request, signal());
    expect(provider.received[0].body).toBe(
      '{"userId":"user-42","userName":"Jane","userEmail":"jane@example.com","sessionDefaultLanguage":"en",' +
        '"sessionDefaultFiatCurrency":"EUR","minPaymentAmountInUSD":0.123456789012345678,' +
        '"maxPaymentAmountInUSD":0.123456789012345678,"redirectUrl":"https://shop.example/done"}',
    );
  });

  it('sends the bounds of an open amount, and leaves out what is not given', async () => {
    provider.behave(instapAccepts);
    const open: StartPaymentRequest = { ...request, amount: undefined, minAmount: '10', maxAmount: '500.5' };
    delete open.userEmail;
    delete open.language;
    delete open.redirectUrl;
    await starter.start(open, signal());
    expect(provider.received[0].body).toBe(
      '{"userId":"user-42","userName":"Jane","sessionDefaultFiatCurrency":"EUR","minPaymentAmountInUSD":10,"maxPaymentAmountInUSD":500.5}',
    );
  });

  it('is refused by instap when signed with another secret', async () => {
    provider.behave(instapAccepts);
    const wrong = createInstapStarter({ apiUrl: provider.url, apiKey: API_KEY, hmacSecret: 'not-it' });
    expect(await rejection(wrong.start(request, signal()))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('takes only the currencies instap lists', () => {
    expect(starter.validate?.({ ...request, currency: 'EUR' })).toBeUndefined();
    expect(starter.validate?.({ ...request, currency: 'try' })).toBeUndefined();
    expect(starter.validate?.({ ...request, currency: 'BTC' })).toEqual({
      field: 'currency',
      message: expect.any(String),
    });
  });

  it('fails as unavailable when instap answers 500', async () => {
    provider.behave((_, res) => json(res, 500, { error: 'boom' }));
    const err = await rejection(starter.start(request, signal()));
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('fails as unavailable when the answer is not JSON', async () => {
    provider.behave((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>gateway</html>'));
    expect(await rejection(starter.start(request, signal()))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('fails as unavailable when the answer lacks the checkout URL', async () => {
    provider.behave((_, res) => json(res, 200, { sessionToken: 'OPN-1' }));
    expect(await rejection(starter.start(request, signal()))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('fails as unavailable when instap never answers before the signal aborts, closing the request', async () => {
    // The provider holds the request open; the signal is aborted once it has arrived, so only
    // honouring the signal can end the call.
    const aborted = new AbortController();
    let closedByClient!: Promise<void>;
    provider.behave((_, res) => {
      closedByClient = new Promise((resolve) => res.on('close', () => resolve()));
      aborted.abort(new Error('timed out'));
    });
    const err = await rejection(starter.start(request, aborted.signal));
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as Error).message).toMatch(/no answer before the timeout/);
    await closedByClient;
  });

  it('fails as unavailable when nothing listens', async () => {
    const closed = await fakeProvider();
    await new Promise((resolve) => closed.server.close(resolve));
    const gone = createInstapStarter({ apiUrl: closed.url, apiKey: API_KEY, hmacSecret: HMAC });
    expect(await rejection(gone.start(request, signal()))).toBeInstanceOf(ProviderUnavailableError);
  });
});

describe('finrax payment starter', () => {
  const API_KEY = 'finrax-api-key';
  let provider: Awaited<ReturnType<typeof fakeProvider>>;
  let starter: PaymentStarter;

  const finraxAccepts: Behaviour = (req, res) => {
    if (req.headers['x-api-key'] !== API_KEY) return json(res, 401, { error: 'unauthorized' });
    json(res, 201, { paymentId: 'pay-1', paymentUrl: 'https://pay.finrax.example/pay-1' });
  };

  beforeAll(async () => {
    provider = await fakeProvider();
    starter = createFinraxStarter({ apiUrl: provider.url, apiKey: API_KEY });
  });
  afterAll(async () => {
    provider.server.closeAllConnections();
    await new Promise((resolve) => provider.server.close(resolve));
  });
  beforeEach(() => {
    provider.received.length = 0;
  });

  it('creates a payment for the deposit and returns its URL and id', async () => {
    provider.behave(finraxAccepts);
    await expect(starter.start(request, signal())).resolves.toEqual({
      checkoutUrl: 'https://pay.finrax.example/pay-1',
      providerRef: 'pay-1',
    });
    const [sent] = provider.received;
    expect(sent.url).toBe('/payments');
    expect(sent.body).toBe(
      '{"clientPaymentId":"7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d","displayCurrency":"EUR",' +
        '"expectedDisplayAmount":0.123456789012345678,"redirectUrl":"https://shop.example/done"}',
    );
  });

  it('leaves out expectedDisplayAmount for an open amount', async () => {
    provider.behave(finraxAccepts);
    await starter.start({ ...request, amount: undefined, redirectUrl: undefined }, signal());
    expect(JSON.parse(provider.received[0].body)).toEqual({
      clientPaymentId: request.depositId,
      displayCurrency: 'EUR',
    });
  });

  it('fails as unavailable when its API key is refused', async () => {
    provider.behave(finraxAccepts);
    const wrong = createFinraxStarter({ apiUrl: provider.url, apiKey: 'nope' });
    expect(await rejection(wrong.start(request, signal()))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('fails as unavailable when finrax answers 500', async () => {
    provider.behave((_, res) => json(res, 500, {}));
    expect(await rejection(starter.start(request, signal()))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('fails as unavailable when finrax never answers before the signal aborts', async () => {
    provider.behave(() => {
      /* holds the request open */
    });
    expect(await rejection(starter.start(request, AbortSignal.timeout(200)))).toBeInstanceOf(ProviderUnavailableError);
  });
});

describe('provider registry', () => {
  const whsec = generateWhsecSecret();
  const none = createProviderRegistry({ secrets: {}, publicUrl: 'http://localhost:4000' });

  it('enables a webhook endpoint only with its secret', () => {
    const some = createProviderRegistry({ secrets: { layer1: whsec, instap: 'raw' }, publicUrl: 'http://x' });
    expect(some.webhook('layer1')?.name).toBe('layer1');
    expect(some.webhook('instap')?.name).toBe('instap');
    expect(some.webhook('finrax')).toBeUndefined();
    expect(none.webhook('sandbox')).toBeUndefined();
  });

  it('names the variables each starter is missing', () => {
    expect(none.starter('sandbox')).toEqual({ missing: 'WEBHOOK_SECRET_SANDBOX' });
    expect(none.starter('instap')).toEqual({ missing: 'INSTAP_API_URL, INSTAP_API_KEY, INSTAP_HMAC_SECRET' });
    expect(none.starter('finrax')).toEqual({ missing: 'FINRAX_API_URL, FINRAX_API_KEY' });
    expect(none.starter('layer1')).toEqual({ missing: 'WEBHOOK_SECRET_LAYER1' });
    expect(none.starter('depasify')).toEqual({ missing: 'WEBHOOK_SECRET_DEPASIFY' });
  });

  it('starts instap and finrax with their API settings alone', () => {
    const apis = createProviderRegistry({
      secrets: {},
      instap: { apiUrl: 'http://i', apiKey: 'k', hmacSecret: 'h' },
      finrax: { apiUrl: 'http://f', apiKey: 'k' },
      publicUrl: 'http://x',
    });
    expect(apis.starter('instap')).toHaveProperty('name', 'instap');
    expect(apis.starter('finrax')).toHaveProperty('name', 'finrax');
  });

  it('links the sandbox to its checkout page, and layer1 and depasify to nothing, without calling anyone', async () => {
    const all = createProviderRegistry({
      secrets: { sandbox: whsec, layer1: whsec, depasify: whsec },
      publicUrl: 'https://pay.example/',
    });
    const start = (name: 'sandbox' | 'layer1' | 'depasify') => {
      const s = all.starter(name);
      if ('missing' in s) throw new Error(`${name} not configured`);
      return s.start(request, signal());
    };
    await expect(start('sandbox')).resolves.toEqual({
      checkoutUrl: `https://pay.example/sandbox/checkout/${request.depositId}`,
    });
    await expect(start('layer1')).resolves.toEqual({ checkoutUrl: null });
    await expect(start('depasify')).resolves.toEqual({ checkoutUrl: null });
  });
});
