import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * A local fake of instap's and finrax's APIs (real HTTP on 127.0.0.1): creates sessions and
 * payments as `createDeposit` asks, and answers status requests with whatever a test sets for
 * a session token or payment id (a body, a status code, a delay, or a redirect). Every request
 * is recorded, headers included, so tests can count them and check what was sent.
 */
export interface FakeAnswer {
  status?: number;
  /** An object is sent as JSON; a string is sent as it is (for garbage). */
  body?: unknown;
  delayMs?: number;
  /** Answers 302 to this location instead. */
  redirectTo?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Set when the client closed the connection before the answer was sent (it gave up: a timeout, an abort). */
  abandoned: boolean;
}

export interface FakeProviderApi {
  url: string;
  requests: RecordedRequest[];
  /** The answer to `GET /pgpub/session/{token}` or `GET /payments/{id}`, by token or id. */
  answers: Map<string, FakeAnswer>;
  /** Used for every status request when set (a provider that is down for everyone). */
  everyStatus?: FakeAnswer;
  /** Status requests (GET) so far, optionally for one token or id. */
  statusRequests(id?: string): RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeProviderApi(): Promise<FakeProviderApi> {
  let n = 0;
  const fake: FakeProviderApi = {
    url: '',
    requests: [],
    answers: new Map(),
    statusRequests(id) {
      return this.requests.filter((r) => r.method === 'GET' && (id === undefined || r.path.endsWith(`/${id}`)));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path,
        headers: req.headers,
        body,
        abandoned: false,
      };
      fake.requests.push(recorded);
      res.on('close', () => {
        if (!res.writableFinished) recorded.abandoned = true;
      });
      const send = (a: FakeAnswer) => {
        const go = () => {
          if (res.destroyed) return;
          if (a.redirectTo) {
            res.writeHead(302, { location: a.redirectTo }).end();
            return;
          }
          const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? {});
          res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(text);
        };
        if (a.delayMs) setTimeout(go, a.delayMs);
        else go();
      };
      if (req.method === 'POST' && path === '/pgpub/session') {
        n++;
        return send({ body: { sessionToken: `sess_${n}`, checkOutUrl: `https://instap.example/pay/sess_${n}` } });
      }
      if (req.method === 'POST' && path === '/payments') {
        n++;
        return send({ body: { paymentId: `pay_${n}`, paymentUrl: `https://finrax.example/pay/pay_${n}` } });
      }
      const m = /^\/(?:pgpub\/session|payments)\/([^/?]+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const id = decodeURIComponent(m[1]);
        return send(fake.everyStatus ?? fake.answers.get(id) ?? { status: 404, body: { message: 'not found' } });
      }
      send({ status: 404, body: { message: 'no such route' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  fake.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return fake;
}
