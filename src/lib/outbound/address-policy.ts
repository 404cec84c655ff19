import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where the gateway may send a request on a tenant's behalf (the contract's
 * "Merchant notifications" address rules). The URL is the tenant's, so its
 * host is untrusted: a name or literal that lands on the gateway's own
 * network (metadata service, database, Redis, admin ports) would turn a
 * webhook into a server-side request forgery.
 *
 * Classification is ipaddr.js's `range()`, not ranges written here; only its
 * `unicast` passes. Two additions, both because ipaddr.js calls these
 * addresses `unicast` while they are not global unicast:
 * - IPv6 must also lie in 2000::/3, IANA's global unicast space. That
 *   refuses, among others, the deprecated IPv4-compatible form
 *   (`[::127.0.0.1]`, which WHATWG URL normalizes to `[::7f00:1]`).
 * - An IPv6 address that carries an IPv4 one (IPv4-mapped, RFC 6145, the
 *   NAT64 well-known prefix 64:ff9b::/96) is judged by the IPv4 address it
 *   reaches. 6to4 and Teredo are tunnels through a relay the gateway does
 *   not control, so they are refused whatever they wrap; the reason names
 *   the wrapped address's class when that is not unicast.
 */

/** Why a URL was refused. */
export type UnsafeUrlReason =
  /** Not a URL at all. */
  | 'invalid-url'
  /** A scheme other than http or https. */
  | 'unsupported-scheme'
  /** `localhost` or a `*.localhost` name: loopback by definition (RFC 6761), refused without asking DNS. */
  | 'local-name'
  /** The name did not resolve, or resolved to nothing. */
  | 'unresolvable'
  /** The host is, or resolves to, an address of a refused class (`addressClass`). */
  | 'address-not-allowed';

/** A URL the gateway must not call. Endpoint management maps it to `BAD_USER_INPUT`; delivery to a failed attempt. */
export class UnsafeUrlError extends Error {
  override readonly name = 'UnsafeUrlError';
  readonly code = 'UNSAFE_URL';

  private constructor(
    readonly reason: UnsafeUrlReason,
    message: string,
    /** The refused class (`private`, `loopback`, `link-local`, ...), when `reason` is `address-not-allowed`. */
    readonly addressClass?: string,
    /**
     * The refused address. For server logs only: showing a tenant what an
     * internal name resolves to would map the gateway's network for them.
     */
    readonly address?: string,
  ) {
    super(message);
  }

  static invalidUrl(): UnsafeUrlError {
    return new UnsafeUrlError('invalid-url', 'not a valid URL');
  }

  static unsupportedScheme(protocol: string): UnsafeUrlError {
    return new UnsafeUrlError('unsupported-scheme', `URL scheme must be http or https, not ${protocol.slice(0, 20)}`);
  }

  static localName(): UnsafeUrlError {
    return new UnsafeUrlError('local-name', 'address not allowed: localhost');
  }

  static unresolvable(detail: string): UnsafeUrlError {
    return new UnsafeUrlError('unresolvable', `host could not be resolved: ${detail.slice(0, 80)}`);
  }

  static addressNotAllowed(addressClass: string, address: string): UnsafeUrlError {
    return new UnsafeUrlError('address-not-allowed', `address not allowed: ${addressClass}`, addressClass, address);
  }
}

/** One resolved address, as `dns.lookup(host, { all: true })` gives them. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has. Defaults to `dns.lookup` (the system resolver, /etc/hosts included). */
export type LookupAll = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface CheckUrlOptions {
  /** Skip the address classes (never the scheme check). `OUTBOUND_ALLOW_PRIVATE_URLS`: true outside production. */
  allowPrivate: boolean;
  /** The resolver; tests pass their own. */
  lookup?: LookupAll;
}

export interface CheckedUrl {
  /** The parsed URL (WHATWG-normalized: a hex or octal IPv4 host is dotted decimal here). */
  url: URL;
  /**
   * Every address the host stands for, each allowed. A request must connect
   * to one of these and nothing else: resolving again later could answer
   * differently (DNS rebinding).
   */
  addresses: string[];
}

const systemLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true });

/** ipaddr.js's range names, as a person reads them in `lastError`. */
const CLASS_NAMES: Readonly<Record<string, string>> = {
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
  deprecatedSiteLocal: 'site-local',
};

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

function className(range: string): string {
  return CLASS_NAMES[range] ?? range;
}

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** The refused class of an IPv4 address, or null when it is allowed. */
function refusedClassV4(address: ipaddr.IPv4): string | null {
  const range = address.range();
  return range === 'unicast' ? null : className(range);
}

/** The refused class of an IPv6 address, or null when it is allowed. */
function refusedClassV6(address: ipaddr.IPv6): string | null {
  const range: string = address.range();
  const parts = address.parts;
  if (range === 'ipv4Mapped' || range === 'rfc6145') {
    return refusedClassV4(ipv4FromParts(parts[6], parts[7]));
  }
  if (range === 'rfc6052' && address.match(NAT64_WELL_KNOWN)) {
    return refusedClassV4(ipv4FromParts(parts[6], parts[7]));
  }
  if (range === '6to4') {
    const inner = refusedClassV4(ipv4FromParts(parts[1], parts[2]));
    return inner ? `${inner} (in 6to4)` : '6to4';
  }
  if (range === 'teredo') {
    // The Teredo client's address is the last 32 bits, inverted (RFC 4380).
    const inner = refusedClassV4(ipv4FromParts(parts[6] ^ 0xffff, parts[7] ^ 0xffff));
    return inner ? `${inner} (in teredo)` : 'teredo';
  }
  if (range !== 'unicast') return className(range);
  return address.match(GLOBAL_UNICAST_V6) ? null : 'reserved';
}

/**
 * The class that makes `address` off limits (`private`, `loopback`,
 * `link-local`, `unique-local`, `unspecified`, `multicast`, `broadcast`,
 * `carrier-grade NAT`, `reserved`, ...), or null when it is a global unicast
 * address the gateway may call.
 * @param address a literal IPv4 or IPv6 address, without brackets.
 * @throws TypeError when `address` is not an IP address.
 */
export function refusedAddressClass(address: string): string | null {
  if (!isIP(address)) throw new TypeError(`not an IP address: ${address.slice(0, 60)}`);
  const parsed = ipaddr.parse(address);
  return parsed.kind() === 'ipv4' ? refusedClassV4(parsed as ipaddr.IPv4) : refusedClassV6(parsed as ipaddr.IPv6);
}

function isLocalName(hostname: string): boolean {
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return name === 'localhost' || name.endsWith('.localhost');
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks that `url` is one the gateway may POST to, and resolves its host.
 * Call it when an endpoint is saved and again before every request (the
 * host may resolve differently later); connect only to the addresses it
 * returns.
 * @throws UnsafeUrlError for every refusal; nothing else.
 */
export async function checkUrl(url: string | URL, options: CheckUrlOptions): Promise<CheckedUrl> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw UnsafeUrlError.invalidUrl();
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw UnsafeUrlError.unsupportedScheme(parsed.protocol);
  }

  // WHATWG URL has already lower-cased the name, turned IDN into punycode and
  // every IPv4 spelling (0x7f.1, 2130706433, 0177.0.0.1) into dotted decimal.
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (!host) throw UnsafeUrlError.invalidUrl();

  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    if (!options.allowPrivate && isLocalName(host)) throw UnsafeUrlError.localName();
    let resolved: readonly ResolvedAddress[];
    try {
      resolved = await (options.lookup ?? systemLookup)(host);
    } catch (err) {
      throw UnsafeUrlError.unresolvable(errorCode(err));
    }
    addresses = [...new Set(resolved.map((entry) => entry.address))];
    if (addresses.length === 0) throw UnsafeUrlError.unresolvable('no address');
    const notAnAddress = addresses.find((address) => !isIP(address));
    if (notAnAddress !== undefined) throw UnsafeUrlError.unresolvable('resolver returned a non-address');
  }

  if (!options.allowPrivate) {
    // Every address, not just the first: a name that also resolves to a
    // private address could be connected there by address selection.
    for (const address of addresses) {
      const refused = refusedAddressClass(address);
      if (refused) throw UnsafeUrlError.addressNotAllowed(refused, address);
    }
  }
  return { url: parsed, addresses };
}
