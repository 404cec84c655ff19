import type { LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { checkUrl, UnsafeUrlError, type LookupAll } from './address-policy.js';
import type { PinnedAgents } from './pinned-agents.js';

/**
 * One attempt of a merchant webhook: a POST to the tenant's URL under the
 * address rules of `address-policy.ts`, checked again now and pinned, so the
 * connection goes to an address that was checked and nowhere else (a name
 * that resolved to a public address at the check and to a private one a
 * millisecond later cannot reach the private one). Redirects are not
 * followed: a 3xx would send the request to a place nobody checked.
 *
 * Nothing of the response but its status is kept: its body can hold
 * anything, so at most `MAX_RESPONSE_BYTES` of it are read and dropped.
 */

export const DEFAULT_TIMEOUT_MS = 15_000;
/** What is read of a response body before the connection is closed. */
export const MAX_RESPONSE_BYTES = 4 * 1024;
const MAX_ERROR_LENGTH = 200;
const USER_AGENT = 'deposit-gateway-webhooks/1';
/** Headers the request owns: the caller's would contradict the body, the pinning or the connection handling. */
const OWN_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection']);

export interface DeliverOptions {
  /** The endpoint's URL, as stored. */
  url: string | URL;
  /** The signature headers (and any others); `content-type`, `content-length`, `host` and `connection` are set here. */
  headers: Readonly<Record<string, string>>;
  /** The exact body that was signed. */
  body: string | Buffer;
  /** Covers resolving, connecting and the response's status line and headers. */
  timeoutMs?: number;
  /** `OUTBOUND_ALLOW_PRIVATE_URLS`. */
  allowPrivate: boolean;
  /** The resolver; tests pass their own. */
  lookup?: LookupAll;
  /** Abandons the attempt (shutdown); it then reports `aborted`. */
  signal?: AbortSignal;
  /** Certificate authorities to trust instead of Node's bundle (tests; a private CA in development). */
  ca?: string | Buffer;
  /** Keep-alive connections per origin and checked addresses (`pinned-agents.ts`); a connection per attempt when absent. */
  agents?: PinnedAgents;
}

export interface DeliveryOutcome {
  /** A 2xx answer. */
  ok: boolean;
  /** The HTTP status, when the endpoint answered. */
  status?: number;
  /** Why it is not ok, short enough for the delivery log (at most 200 characters); absent when ok. */
  error?: string;
  /** From the call to the end of the attempt (status read and at most a few KB drained, or the failure). */
  durationMs: number;
}

class DeliveryTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
  }
}

/**
 * A `lookup` for `http.request` that answers with `addresses` whatever it is
 * asked: the connection can only go to addresses `checkUrl` allowed. The
 * request keeps the URL's host name, so `Host` and TLS's SNI and certificate
 * check still use the name.
 */
export function pinnedLookup(addresses: readonly string[]): LookupFunction {
  const entries = addresses.map((address) => ({ address, family: isIP(address) }));
  return (hostname: string, options: LookupOptions, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const usable = family === 4 || family === 6 ? entries.filter((entry) => entry.family === family) : entries;
    if (usable.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`no checked IPv${family} address for ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
    } else if (options.all) {
      callback(null, usable);
    } else {
      callback(null, usable[0].address, usable[0].family);
    }
  };
}

/** Never throws for anything the endpoint or the network does: every failure is an outcome with an `error`. */
export async function deliver(options: DeliverOptions): Promise<DeliveryOutcome> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeliveryTimeout(timeoutMs)), timeoutMs);
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  try {
    // The lookup cannot be cancelled, but the attempt stops waiting for it at the deadline.
    const checked = await untilAborted(
      checkUrl(options.url, { allowPrivate: options.allowPrivate, lookup: options.lookup }),
      controller.signal,
    );
    const status = await post(checked.url, checked.addresses, options, controller.signal);
    if (status >= 200 && status < 300) return { ok: true, status, durationMs: elapsed() };
    const error = status >= 300 && status < 400 ? 'redirect not followed' : `HTTP ${status}`;
    return { ok: false, status, error, durationMs: elapsed() };
  } catch (err) {
    return { ok: false, error: describeFailure(err, controller.signal), durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Sends the request and resolves with the response status once at most `MAX_RESPONSE_BYTES` of the body are read. */
function post(
  url: URL,
  addresses: readonly string[],
  options: DeliverOptions,
  signal: AbortSignal,
  pooled = options.agents !== undefined && options.ca === undefined,
): Promise<number> {
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [name, value] of Object.entries(options.headers)) {
    if (!OWN_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(body.length);

  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = transport.request({
      protocol: url.protocol,
      // Without brackets, as net wants an IPv6 literal; a name stays a name (Host header, SNI, certificate).
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      auth:
        url.username || url.password
          ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
          : undefined,
      method: 'POST',
      headers,
      // Without a pool, a fresh agent per attempt; a pool's sockets were connected to one of these very addresses.
      agent: pooled ? options.agents!.for(url, addresses, pinnedLookup) : false,
      lookup: pinnedLookup(addresses),
      signal,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    let status: number | undefined;
    // After the status line a failure changes nothing (a broken or stalled body, the deadline): the endpoint answered.
    request.on('error', (err) => {
      // A pooled socket the endpoint closed as it was reused: once more on a connection of its own.
      if (status === undefined && pooled && request.reusedSocket && !signal.aborted) {
        post(url, addresses, options, signal, false).then(resolve, reject);
      } else if (status === undefined) reject(err);
      else resolve(status);
    });
    request.on('response', (response) => {
      status = response.statusCode ?? 0;
      let read = 0;
      let settled = false;
      // A body read to its end leaves a pooled socket to the pool; anything else closes it.
      const done = (complete = false) => {
        if (settled) return;
        settled = true;
        if (!(complete && pooled)) request.destroy();
        resolve(status ?? 0);
      };
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= MAX_RESPONSE_BYTES) done();
      });
      response.on('end', () => done(true));
      response.on('close', () => done());
      response.on('error', () => done());
    });
    request.end(body);
  });
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ETIMEDOUT: 'connect timed out',
  ENOTFOUND: 'host not found',
};

function codeOf(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  if ('code' in err && typeof err.code === 'string') return err.code;
  // Connecting to several addresses (happy eyeballs) fails with every attempt's error.
  if (err instanceof AggregateError) return codeOf(err.errors[0]);
  return undefined;
}

function describeFailure(err: unknown, signal: AbortSignal): string {
  const text = (() => {
    if (signal.aborted) {
      return signal.reason instanceof DeliveryTimeout ? signal.reason.message : 'aborted';
    }
    if (err instanceof UnsafeUrlError) return err.message;
    const code = codeOf(err);
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'ECONNRESET' && message === 'socket hang up') return 'connection closed without a response';
    if (code && NETWORK_ERRORS[code]) return NETWORK_ERRORS[code];
    if (code?.startsWith('HPE_')) return `invalid HTTP response (${code})`;
    if (code && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO|ERR_OSSL|HOSTNAME/.test(code)) return `TLS error: ${code}`;
    return code ? `${code}: ${message}` : message;
  })();
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}
