import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkUrl, type LookupAll } from '../../src/lib/outbound/address-policy.js';
import { deliver, MAX_RESPONSE_BYTES, pinnedLookup } from '../../src/lib/outbound/deliver.js';
import { signedHeaders } from '../../src/lib/outbound/sign.js';

// A throwaway self-signed certificate for merchant.test (EC P-256, valid until 2126), made with
// openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj /CN=merchant.test
//   -addext subjectAltName=DNS:merchant.test -days 36500 -nodes
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQ3RWybcP36vPBi7D
BF7lOh/D78OPw5Z05HFGPZOiMQ6hRANCAASPF9jH1Gf6rejXuRn6gtz8ooQcqNBB
4CyqIfx/0ifE/0bi/nJEIjeNOL3KIzMI54sNvAC96wlyo1P+o/Fmlru6
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBoTCCAUegAwIBAgIUM+fPEFxJ3Eff545Etim/M7C6bpMwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNbWVyY2hhbnQudGVzdDAgFw0yNjExMjYxNDAyMzdaGA8yMTI2
MTEwMjE0MDIzN1owGDEWMBQGA1UEAwwNbWVyY2hhbnQudGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABI8X2MfUZ/qt6Ne5GfqC3PyihByo0EHgLKoh/H/SJ8T/
RuL+ckQiN404vcojMwjniw28AL3rCXKjU/6j8WaWu7qjbTBrMB0GA1UdDgQWBBR9
wAJglcaW2mjwwqrpaOQA30LUZTAfBgNVHSMEGDAWgBR9wAJglcaW2mjwwqrpaOQA
30LUZTAPBgNVHRMBAf8EBTADAQH/MBgGA1UdEQQRMA+CDW1lcmNoYW50LnRlc3Qw
CgYIKoZIzj0EAwIDSAAwRQIhANDsjqK14Cm9kCzVWI2yvTqdqvDjOK3d/IHPDCl/
Yd0WAiBNCuPL4DAMuhYg5emSIXyOrD5fhUONHsKhe/tTTqxrdA==
-----END CERTIFICATE-----
`;

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The address the connection arrived on: which server of several a request reached. */
  localAddress: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Receiver {
  port: number;
  url: (path?: string) => string;
  received: Received[];
  connections: number;
  close: () => Promise<void>;
}

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

/** A real HTTP(S) server on a loopback address; the handler runs once the request body is in. */
async function receiver(
  handler: Handler,
  {
    host = '127.0.0.1',
    port = 0,
    server = http.createServer(),
  }: { host?: string; port?: number; server?: http.Server } = {},
): Promise<Receiver> {
  const received: Received[] = [];
  const state = { connections: 0 };
  server.on('connection', () => (state.connections += 1));
  server.on('secureConnection', () => (state.connections += 1));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        localAddress: req.socket.localAddress ?? '',
      });
      handler(req, res);
    });
  });
  server.listen(port, host);
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  const close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close').catch(() => undefined);
  };
  servers.push(close);
  const scheme = server instanceof https.Server ? 'https' : 'http';
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    port: bound,
    url: (path = '/hook') => `${scheme}://${hostInUrl}:${bound}${path}`,
    received,
    get connections() {
      return state.connections;
    },
    close,
  };
}

const answer =
  (status: number, headers: http.OutgoingHttpHeaders = {}, body = ''): Handler =>
  (_req, res) => {
    res.writeHead(status, headers).end(body);
  };

/** A resolver that answers `sequence[i]` to the i-th question, then the last one for ever. */
function rebinding(...sequence: string[][]) {
  const lookup = vi.fn<LookupAll>(async () => {
    const addresses: string[] = sequence[Math.min(lookup.mock.calls.length - 1, sequence.length - 1)];
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  });
  return lookup;
}

const BODY = JSON.stringify({ type: 'deposit.status_changed', data: { status: 'COMPLETED', amount: '25' } });
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const signed = () =>
  signedHeaders({ id: 'evt_1', timestamp: Math.floor(Date.now() / 1000), body: BODY, secrets: [SECRET] });

describe('deliver: answers', () => {
  it('POSTs the signed JSON body and reports a 200 as ok', async () => {
    const merchant = await receiver(answer(200, {}, 'thanks'));
    const headers = signed();
    const outcome = await deliver({ url: merchant.url('/hook?tenant=1'), headers, body: BODY, allowPrivate: true });

    expect(outcome).toEqual({ ok: true, status: 200, durationMs: expect.any(Number) });
    expect(merchant.received).toHaveLength(1);
    const [request] = merchant.received;
    expect(request).toMatchObject({ method: 'POST', url: '/hook?tenant=1', body: BODY });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['content-length']).toBe(String(Buffer.byteLength(BODY)));
    expect(request.headers['user-agent']).toMatch(/^deposit-gateway-webhooks\//);
    // What arrived verifies with the reference library, as a merchant would check it.
    expect(new Webhook(SECRET).verify(request.body, request.headers as Record<string, string>)).toEqual(
      JSON.parse(BODY),
    );
  });

  it('keeps the headers it owns: content-type, content-length, host and connection', async () => {
    const merchant = await receiver(answer(204));
    const outcome = await deliver({
      url: merchant.url(),
      headers: { 'Content-Type': 'text/plain', host: 'evil.example', 'x-extra': 'kept', 'Content-Length': '1' },
      body: BODY,
      allowPrivate: true,
    });
    expect(outcome.ok).toBe(true);
    const [request] = merchant.received;
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.host).toBe(`127.0.0.1:${merchant.port}`);
    expect(request.headers['x-extra']).toBe('kept');
    expect(request.body).toBe(BODY);
  });

  it.each([201, 202, 204, 299])('reports %i as ok', async (status) => {
    const merchant = await receiver(answer(status));
    expect(await deliver({ url: merchant.url(), headers: signed(), body: BODY, allowPrivate: true })).toMatchObject({
      ok: true,
      status,
    });
  });

  it.each([
    [500, 'HTTP 500'],
    [503, 'HTTP 503'],
    [404, 'HTTP 404'],
    [410, 'HTTP 410'],
    [400, 'HTTP 400'],
    [101, 'HTTP 101'],
  ])('reports %i as a failure with its status', async (status, error) => {
    const merchant = await receiver(answer(status, {}, 'stack trace with secrets'));
    const outcome = await deliver({ url: merchant.url(), headers: signed(), body: BODY, allowPrivate: true });
    expect(outcome).toEqual({ ok: false, status, error, durationMs: expect.any(Number) });
    expect(JSON.stringify(outcome)).not.toContain('secrets');
  });

  it.each([301, 302, 303, 307, 308])('does not follow a %i redirect, and reports it as a failure', async (status) => {
    const elsewhere = await receiver(answer(200));
    const merchant = await receiver(answer(status, { location: elsewhere.url('/stolen') }));
    const outcome = await deliver({ url: merchant.url(), headers: signed(), body: BODY, allowPrivate: true });
    expect(outcome).toEqual({ ok: false, status, error: 'redirect not followed', durationMs: expect.any(Number) });
    expect(elsewhere.connections).toBe(0);
  });
});

describe('deliver: failures of the network', () => {
  it('times out a slow endpoint, covering the wait for the response', async () => {
    const merchant = await receiver(() => undefined); // reads the request, never answers
    const outcome = await deliver({
      url: merchant.url(),
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      timeoutMs: 300,
    });
    expect(outcome).toEqual({ ok: false, error: 'timeout after 300 ms', durationMs: expect.any(Number) });
    // What it reports covers the wait (a value it records; the error above says the timeout ended it).
    expect(outcome.durationMs).toBeGreaterThanOrEqual(290);
    expect(merchant.received).toHaveLength(1);
  });

  it('succeeds with an endpoint that is slow but inside the timeout', async () => {
    const merchant = await receiver((_req, res) => setTimeout(() => res.end(), 150));
    const outcome = await deliver({
      url: merchant.url(),
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      timeoutMs: 3000,
    });
    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(140);
  });

  it('times out while the name is still resolving', async () => {
    const outcome = await deliver({
      url: 'https://slow-dns.example/hook',
      headers: signed(),
      body: BODY,
      allowPrivate: false,
      timeoutMs: 200,
      lookup: () => new Promise(() => undefined),
    });
    expect(outcome).toMatchObject({ ok: false, error: 'timeout after 200 ms' });
  });

  it('reports a refused connection', async () => {
    const closed = await receiver(answer(200));
    await closed.close();
    const outcome = await deliver({ url: closed.url(), headers: signed(), body: BODY, allowPrivate: true });
    expect(outcome).toEqual({ ok: false, error: 'connection refused', durationMs: expect.any(Number) });
  });

  it('reports a connection closed before any answer', async () => {
    const merchant = await receiver((req) => req.socket.destroy());
    const outcome = await deliver({ url: merchant.url(), headers: signed(), body: BODY, allowPrivate: true });
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/^connection (closed|reset)/) });
    expect(outcome.status).toBeUndefined();
  });

  it('reports a name that does not resolve', async () => {
    const outcome = await deliver({
      url: 'https://nowhere.example/hook',
      headers: signed(),
      body: BODY,
      allowPrivate: false,
      lookup: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      },
    });
    expect(outcome).toMatchObject({ ok: false, error: 'host could not be resolved: ENOTFOUND' });
  });

  it('reports an abort from the caller (shutdown) as such', async () => {
    const merchant = await receiver(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const outcome = await deliver({
      url: merchant.url(),
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      signal: controller.signal,
    });
    expect(outcome).toMatchObject({ ok: false, error: 'aborted' });
  });

  it('does not read a 10 MB answer whole, and keeps nothing of it', async () => {
    const total = 10 * 1024 * 1024;
    let written = 0;
    let stopped!: () => void;
    const stoppedWriting = new Promise<void>((resolve) => (stopped = resolve));
    const merchant = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', stopped);
      pump();
    });

    const outcome = await deliver({ url: merchant.url(), headers: signed(), body: BODY, allowPrivate: true });
    expect(outcome).toEqual({ ok: true, status: 200, durationMs: expect.any(Number) });
    await stoppedWriting;
    // The client hung up after its few KB: the server could not push the rest through.
    expect(written).toBeLessThan(total);
    expect(MAX_RESPONSE_BYTES).toBeLessThanOrEqual(8 * 1024);
  });

  it('counts an answer whose body stalls: the status line arrived in time', async () => {
    const merchant = await receiver((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
    });
    const outcome = await deliver({
      url: merchant.url(),
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      timeoutMs: 300,
    });
    expect(outcome).toMatchObject({ ok: true, status: 200 });
  });

  it('keeps a long error short', async () => {
    const outcome = await deliver({
      url: 'https://x.example/',
      headers: signed(),
      body: BODY,
      allowPrivate: false,
      lookup: async () => {
        throw new Error('e'.repeat(1000));
      },
    });
    expect(outcome.error!.length).toBeLessThanOrEqual(200);
  });

  it('never throws, even for a header value Node refuses', async () => {
    const merchant = await receiver(answer(200));
    const outcome = await deliver({
      url: merchant.url(),
      headers: { 'x-bad': 'line\nbreak' },
      body: BODY,
      allowPrivate: true,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/ERR_INVALID_CHAR/);
    expect(merchant.connections).toBe(0);
  });
});

describe('deliver: address rules', () => {
  it.each([
    ['http://127.0.0.1:{port}/hook', 'address not allowed: loopback'],
    ['http://[::ffff:127.0.0.1]:{port}/hook', 'address not allowed: loopback'],
    ['http://0x7f.1:{port}/hook', 'address not allowed: loopback'],
    ['http://localhost:{port}/hook', 'address not allowed: localhost'],
    ['http://0.0.0.0:{port}/hook', 'address not allowed: unspecified'],
  ])('refuses %s when private addresses are not allowed, and sends nothing', async (template, error) => {
    const merchant = await receiver(answer(200));
    const url = template.replace('{port}', String(merchant.port));
    const outcome = await deliver({ url, headers: signed(), body: BODY, allowPrivate: false });
    expect(outcome).toEqual({ ok: false, error, durationMs: expect.any(Number) });
    expect(merchant.connections).toBe(0);
  });

  it('refuses a name that resolves to a private address, and sends nothing', async () => {
    const merchant = await receiver(answer(200));
    const outcome = await deliver({
      url: `http://merchant.example:${merchant.port}/hook`,
      headers: signed(),
      body: BODY,
      allowPrivate: false,
      lookup: rebinding(['8.8.8.8', '127.0.0.1']),
    });
    expect(outcome).toMatchObject({ ok: false, error: 'address not allowed: loopback' });
    expect(merchant.connections).toBe(0);
  });

  it('refuses a scheme other than http and https', async () => {
    const outcome = await deliver({ url: 'ftp://8.8.8.8/x', headers: signed(), body: BODY, allowPrivate: true });
    expect(outcome).toMatchObject({ ok: false, error: 'URL scheme must be http or https, not ftp:' });
  });

  it('checks again at request time: a name public when the endpoint was saved and loopback now is refused', async () => {
    const merchant = await receiver(answer(200));
    const lookup = rebinding(['8.8.8.8'], ['127.0.0.1']);
    const url = `http://merchant.example:${merchant.port}/hook`;
    // When the endpoint is saved:
    await expect(checkUrl(url, { allowPrivate: false, lookup })).resolves.toMatchObject({ addresses: ['8.8.8.8'] });
    // When it is called:
    const outcome = await deliver({ url, headers: signed(), body: BODY, allowPrivate: false, lookup });
    expect(outcome).toMatchObject({ ok: false, error: 'address not allowed: loopback' });
    expect(merchant.connections).toBe(0);
  });

  it('connects to the address it checked, not to what the name resolves to a moment later (DNS rebinding)', async () => {
    // Two servers on one port, on two loopback addresses: which one a request reaches says where it connected.
    const checkedServer = await receiver(answer(200), { host: '127.0.0.1' });
    const rebound = await receiver(answer(200), { host: '127.0.0.2', port: checkedServer.port });
    const lookup = rebinding(['127.0.0.1'], ['127.0.0.2']);

    const outcome = await deliver({
      url: `http://merchant.test:${checkedServer.port}/hook`,
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      lookup,
    });

    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(checkedServer.received.map((request) => request.localAddress)).toEqual(['127.0.0.1']);
    expect(rebound.connections).toBe(0);
    // The name stays the name: the Host header is the URL's, not the address connected to.
    expect(checkedServer.received[0].headers.host).toBe(`merchant.test:${checkedServer.port}`);
  });

  it('connects to the checked address whichever it is (the pinning is not a loopback default)', async () => {
    const first = await receiver(answer(200), { host: '127.0.0.1' });
    const second = await receiver(answer(200), { host: '127.0.0.2', port: first.port });
    const outcome = await deliver({
      url: `http://merchant.test:${first.port}/hook`,
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      lookup: rebinding(['127.0.0.2'], ['127.0.0.1']),
    });
    expect(outcome.ok).toBe(true);
    expect(second.received.map((request) => request.localAddress)).toEqual(['127.0.0.2']);
    expect(first.connections).toBe(0);
  });

  it('with private addresses refused, a name checked as public is never connected to its later private answer', async () => {
    const local = await receiver(answer(200));
    // 3ffe::/16 is global unicast that nobody holds (the old 6bone): the attempt fails out there, not here.
    const lookup = rebinding(['3ffe::1'], ['127.0.0.1']);
    const outcome = await deliver({
      url: `http://merchant.example:${local.port}/hook`,
      headers: signed(),
      body: BODY,
      allowPrivate: false,
      lookup,
      timeoutMs: 300,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/^(timeout after 300 ms|host unreachable|network unreachable)$/);
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(local.connections).toBe(0);
  });

  it('reaches an IPv6 loopback endpoint when private addresses are allowed', async () => {
    const merchant = await receiver(answer(200), { host: '::1' });
    const outcome = await deliver({ url: merchant.url(), headers: signed(), body: BODY, allowPrivate: true });
    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(merchant.received[0].localAddress).toBe('::1');
  });
});

describe('deliver: TLS through the pinned address', () => {
  async function tlsReceiver() {
    const servernames: string[] = [];
    const context = createSecureContext({ key: TEST_KEY, cert: TEST_CERT });
    const server = https.createServer({
      key: TEST_KEY,
      cert: TEST_CERT,
      SNICallback: (servername, callback) => {
        servernames.push(servername);
        callback(null, context);
      },
    });
    const merchant = await receiver(answer(200), { server });
    return { merchant, servernames, url: `https://merchant.test:${merchant.port}/hook` };
  }

  it('sends the name as SNI and checks the certificate against it, while connecting to the checked address', async () => {
    const { merchant, servernames, url } = await tlsReceiver();
    const outcome = await deliver({
      url,
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      lookup: rebinding(['127.0.0.1']),
      ca: TEST_CERT,
    });
    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(servernames).toEqual(['merchant.test']);
    expect(merchant.received[0].headers.host).toBe(`merchant.test:${merchant.port}`);
  });

  it('refuses a certificate nobody vouches for', async () => {
    const { merchant, url } = await tlsReceiver();
    const outcome = await deliver({
      url,
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      lookup: rebinding(['127.0.0.1']),
    });
    expect(outcome).toMatchObject({ ok: false, error: 'TLS error: DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(merchant.received).toHaveLength(0);
  });

  it('refuses a certificate for another name, though the address is the right one', async () => {
    const { merchant } = await tlsReceiver();
    const outcome = await deliver({
      url: `https://impostor.test:${merchant.port}/hook`,
      headers: signed(),
      body: BODY,
      allowPrivate: true,
      lookup: rebinding(['127.0.0.1']),
      ca: TEST_CERT,
    });
    expect(outcome).toMatchObject({ ok: false, error: 'TLS error: ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(merchant.received).toHaveLength(0);
  });
});

describe('pinnedLookup', () => {
  const ask = (addresses: string[], options: object) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      pinnedLookup(addresses)('merchant.example', options, (err, address, family) => resolve({ err, address, family })),
    );

  it('answers with the checked addresses only, in every form Node asks', async () => {
    const addresses = ['8.8.8.8', '2001:4860:4860::8888'];
    expect(await ask(addresses, { all: true })).toMatchObject({
      err: null,
      address: [
        { address: '8.8.8.8', family: 4 },
        { address: '2001:4860:4860::8888', family: 6 },
      ],
    });
    expect(await ask(addresses, {})).toMatchObject({ err: null, address: '8.8.8.8', family: 4 });
    expect(await ask(addresses, { family: 6 })).toMatchObject({ address: '2001:4860:4860::8888', family: 6 });
    expect(await ask(addresses, { family: 'IPv6', all: true })).toMatchObject({
      address: [{ address: '2001:4860:4860::8888', family: 6 }],
    });
  });

  it('fails rather than resolve when no checked address has the family asked for', async () => {
    const { err } = await ask(['8.8.8.8'], { family: 6 });
    expect(err?.code).toBe('ENOTFOUND');
  });
});
