import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  json: any;
  at: number;
}

/**
 * What the receiver does with a request: the status to answer, after an optional delay or once
 * `after` settles (a test holds the answer as long as it needs); `hang` never answers.
 */
export type ReceiverAnswer = { status: number; delayMs?: number; after?: Promise<unknown> } | 'hang';

/**
 * A merchant's endpoint: a real HTTP server on 127.0.0.1 that records every request and
 * answers as `answer` says. Counts requests in flight per `webhook-id`, so a test can see
 * one delivery sent twice at once.
 */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** The most requests with one webhook-id that were in flight at the same time. */
  maxConcurrentPerId(): number;
  /** The most requests in flight at the same time. */
  maxConcurrent(): number;
  inFlight(): number;
  setAnswer(answer: (req: ReceivedWebhook, n: number) => ReceiverAnswer): void;
  close(): Promise<void>;
}

export async function startReceiver(
  answer: (req: ReceivedWebhook, n: number) => ReceiverAnswer = () => ({ status: 200 }),
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const inFlightById = new Map<string, number>();
  let maxPerId = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let decide = answer;
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const entry: ReceivedWebhook = { headers: req.headers as Record<string, string>, body, json, at: Date.now() };
      received.push(entry);
      const id = entry.headers['webhook-id'] ?? '';
      inFlightById.set(id, (inFlightById.get(id) ?? 0) + 1);
      maxPerId = Math.max(maxPerId, inFlightById.get(id)!);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        inFlight--;
        inFlightById.set(id, inFlightById.get(id)! - 1);
      };
      res.on('close', finish);
      const a = decide(entry, received.length);
      if (a === 'hang') {
        hanging.add(res);
        return;
      }
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(a.status, { 'content-type': 'text/plain' });
        res.end('secret response body that must never be stored');
      };
      if (a.after) {
        hanging.add(res);
        void a.after.finally(send);
      } else setTimeout(send, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks?token=abc`,
    received,
    maxConcurrentPerId: () => maxPerId,
    maxConcurrent: () => maxInFlight,
    inFlight: () => inFlight,
    setAnswer(next) {
      decide = next;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
