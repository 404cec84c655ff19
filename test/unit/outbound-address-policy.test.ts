import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  checkUrl,
  refusedAddressClass,
  UnsafeUrlError,
  type LookupAll,
  type UnsafeUrlReason,
} from '../../src/lib/outbound/address-policy.js';

const resolvesTo =
  (...addresses: string[]): LookupAll =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const noDns: LookupAll = async (hostname) => {
  throw new Error(`no DNS expected for ${hostname}`);
};

async function refusal(
  url: string,
  allowPrivate = false,
  lookup: LookupAll = noDns,
): Promise<{ reason: UnsafeUrlReason; addressClass?: string; address?: string; message: string } | undefined> {
  try {
    await checkUrl(url, { allowPrivate, lookup });
    return undefined;
  } catch (err) {
    if (!(err instanceof UnsafeUrlError)) throw err;
    return { reason: err.reason, addressClass: err.addressClass, address: err.address, message: err.message };
  }
}

async function refusedClass(url: string, lookup: LookupAll = noDns): Promise<string | undefined> {
  const refused = await refusal(url, false, lookup);
  if (refused && refused.reason !== 'address-not-allowed') throw new Error(`refused for ${refused.reason}`);
  return refused?.addressClass;
}

describe('checkUrl: schemes', () => {
  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'ws://example.com/', 'data:,x'])(
    'refuses %s as an unsupported scheme, even with private addresses allowed',
    async (url) => {
      for (const allowPrivate of [false, true]) {
        const refused = await refusal(url, allowPrivate);
        expect(refused?.reason).toBe('unsupported-scheme');
        expect(refused?.message).toMatch(/^URL scheme must be http or https, not [a-z]+:$/);
      }
    },
  );

  it.each(['not a url', '', 'http://', 'http://1.2.3.4.5/', 'http://256.0.0.1/', 'http://[fe80::1%25eth0]/'])(
    'refuses %j as not a URL',
    async (url) => {
      expect((await refusal(url))?.reason).toBe('invalid-url');
    },
  );

  it('accepts http and https, with a port, a path, a query and credentials', async () => {
    for (const url of ['http://8.8.8.8/hook', 'https://8.8.8.8:8443/a/b?c=d', 'https://user:pw@8.8.8.8/']) {
      const checked = await checkUrl(url, { allowPrivate: false, lookup: noDns });
      expect(checked.url.href).toBe(new URL(url).href);
      expect(checked.addresses).toEqual(['8.8.8.8']);
    }
  });
});

describe('checkUrl: IPv4 literals', () => {
  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.255.255.254/', 'loopback'],
    ['http://10.1.2.3/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://172.31.255.255/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0.1.2.3/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://239.255.255.250/', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://100.127.255.254/', 'carrier-grade NAT'],
    ['http://240.0.0.1/', 'reserved'],
    ['http://192.0.2.1/', 'reserved'],
    ['http://198.51.100.7/', 'reserved'],
    ['http://203.0.113.9/', 'reserved'],
    ['http://198.18.0.1/', 'reserved'],
    ['http://192.0.0.8/', 'reserved'],
  ])('refuses %s (%s)', async (url, expected) => {
    expect(await refusedClass(url)).toBe(expected);
  });

  it.each([
    ['http://0x7f.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['http://0xa9fea9fe/', 'link-local'],
    ['http://012.0.0.1/', 'private'],
    ['http://0xc0.0xa8.1.1/', 'private'],
  ])('refuses %s, a spelling WHATWG URL turns into dotted decimal (%s)', async (url, expected) => {
    expect(await refusedClass(url)).toBe(expected);
  });

  it.each(['http://8.8.8.8/', 'http://1.1.1.1/', 'http://93.184.215.14/', 'http://172.32.0.1/', 'http://100.128.0.1/'])(
    'accepts the public address %s',
    async (url) => {
      expect(await refusal(url)).toBeUndefined();
    },
  );

  it('accepts every refused class when private addresses are allowed, without asking DNS', async () => {
    for (const host of ['127.0.0.1', '10.0.0.1', '169.254.169.254', '0.0.0.0', '255.255.255.255', '100.64.0.1']) {
      const checked = await checkUrl(`http://${host}:8080/`, { allowPrivate: true, lookup: noDns });
      expect(checked.addresses).toEqual([host]);
    }
  });

  it('gives every spelling of one IPv4 address the same verdict as its dotted form', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0xffffffff }), async (value) => {
        const dotted = [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
        const expected = await refusal(`http://${dotted}/`);
        expect(await refusal(`http://${value}/`)).toEqual(expected);
        expect(await refusal(`http://0x${value.toString(16)}/`)).toEqual(expected);
        // IPv4-mapped IPv6 reaches the same IPv4 address.
        expect((await refusal(`http://[::ffff:${dotted}]/`))?.addressClass).toBe(expected?.addressClass);
      }),
      { numRuns: 300 },
    );
  });
});

describe('checkUrl: IPv6 literals', () => {
  it.each([
    ['http://[::1]/', 'loopback'],
    ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
    ['http://[::]/', 'unspecified'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[febf:ffff::1]/', 'link-local'],
    ['http://[fc00::1]/', 'unique-local'],
    ['http://[fd12:3456:789a::1]/', 'unique-local'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://[ff0e::1]/', 'multicast'],
    ['http://[fec0::1]/', 'site-local'],
    ['http://[2001:db8::1]/', 'reserved'],
    ['http://[100::1]/', 'discard'],
    ['http://[64:ff9b:1::a00:1]/', 'rfc6052'],
  ])('refuses %s (%s)', async (url, expected) => {
    expect(await refusedClass(url)).toBe(expected);
  });

  it.each([
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', 'loopback'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://[::ffff:169.254.169.254]/', 'link-local'],
    ['http://[::ffff:0:127.0.0.1]/', 'loopback'],
    ['http://[64:ff9b::10.0.0.1]/', 'private'],
    ['http://[64:ff9b::127.0.0.1]/', 'loopback'],
  ])('refuses %s, an IPv6 form of an IPv4 address, by the class of the IPv4 one (%s)', async (url, expected) => {
    expect(await refusedClass(url)).toBe(expected);
  });

  it.each([
    // IPv4-compatible (deprecated): ipaddr.js calls it unicast, but it is outside 2000::/3.
    ['http://[::127.0.0.1]/', 'reserved'],
    ['http://[::8.8.8.8]/', 'reserved'],
    ['http://[4000::1]/', 'reserved'],
  ])('refuses %s, unicast to ipaddr.js but not global unicast (%s)', async (url, expected) => {
    expect(await refusedClass(url)).toBe(expected);
  });

  it.each([
    ['http://[2002:a00:1::1]/', 'private (in 6to4)'],
    ['http://[2002:7f00:1::]/', 'loopback (in 6to4)'],
    ['http://[2002:808:808::1]/', '6to4'],
    // Teredo: server 65.54.227.120, client 10.0.0.1 stored inverted (f5ff:fffe).
    ['http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/', 'private (in teredo)'],
    ['http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/', 'teredo'],
  ])('refuses the tunnel address %s (%s)', async (url, expected) => {
    expect(await refusedClass(url)).toBe(expected);
  });

  it.each([
    'http://[2606:4700:4700::1111]/',
    'http://[2001:4860:4860::8888]/',
    'http://[64:ff9b::808:808]/',
    'https://[2a00:1450:4001:82a::200e]:8443/x',
  ])('accepts the public address %s', async (url) => {
    const checked = await checkUrl(url, { allowPrivate: false, lookup: noDns });
    expect(checked.addresses).toEqual([checked.url.hostname.slice(1, -1)]);
  });

  it('accepts IPv6 literals of every class when private addresses are allowed', async () => {
    for (const url of ['http://[::1]/', 'http://[fe80::1]/', 'http://[fd00::1]/', 'http://[::ffff:127.0.0.1]/']) {
      expect(await refusal(url, true)).toBeUndefined();
    }
  });
});

describe('checkUrl: names', () => {
  it.each([
    'http://localhost/',
    'http://LOCALHOST:3000/',
    'http://localhost./',
    'http://api.localhost/',
    'https://a.b.localhost./',
  ])('refuses %s without asking DNS', async (url) => {
    const lookup = vi.fn(noDns);
    const refused = await refusal(url, false, lookup);
    expect(refused?.reason).toBe('local-name');
    expect(refused?.message).toBe('address not allowed: localhost');
    expect(lookup).not.toHaveBeenCalled();
  });

  it('resolves localhost like any name when private addresses are allowed', async () => {
    const lookup = vi.fn(resolvesTo('127.0.0.1', '::1'));
    const checked = await checkUrl('http://localhost:9/', { allowPrivate: true, lookup });
    expect(lookup).toHaveBeenCalledWith('localhost');
    expect(checked.addresses).toEqual(['127.0.0.1', '::1']);
  });

  it('resolves with the system resolver by default', async () => {
    const checked = await checkUrl('http://localhost:9/', { allowPrivate: true });
    expect(checked.addresses.length).toBeGreaterThan(0);
    expect(checked.addresses.every((address) => refusedAddressClass(address) === 'loopback')).toBe(true);
  });

  it('asks the resolver for the normalized name (lower case, punycode)', async () => {
    const lookup = vi.fn(resolvesTo('8.8.8.8'));
    await checkUrl('https://Hooks.Bücher.Example/x', { allowPrivate: false, lookup });
    expect(lookup).toHaveBeenCalledWith('hooks.xn--bcher-kva.example');
  });

  it('accepts a name whose every address is public, and returns them all once', async () => {
    const checked = await checkUrl('https://merchant.example/hook', {
      allowPrivate: false,
      lookup: resolvesTo('8.8.8.8', '2001:4860:4860::8888', '8.8.8.8'),
    });
    expect(checked.addresses).toEqual(['8.8.8.8', '2001:4860:4860::8888']);
    expect(checked.url.hostname).toBe('merchant.example');
  });

  it('refuses a name with one private address among public ones, naming the class but not the address', async () => {
    const refused = await refusal('https://merchant.example/', false, resolvesTo('8.8.8.8', '10.0.0.7', '1.1.1.1'));
    expect(refused).toMatchObject({ reason: 'address-not-allowed', addressClass: 'private', address: '10.0.0.7' });
    expect(refused?.message).toBe('address not allowed: private');
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['fe80::a9fe:a9fe', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['100.100.100.200', 'carrier-grade NAT'],
  ])('refuses a name that resolves to %s (%s)', async (address, expected) => {
    expect(await refusedClass('http://merchant.example/', resolvesTo('8.8.8.8', address))).toBe(expected);
  });

  it('accepts a name resolving to private addresses when they are allowed', async () => {
    const checked = await checkUrl('http://db.internal/', {
      allowPrivate: true,
      lookup: resolvesTo('10.0.0.5', 'fd00::5'),
    });
    expect(checked.addresses).toEqual(['10.0.0.5', 'fd00::5']);
  });

  it('refuses a name that does not resolve, saying why', async () => {
    const lookup: LookupAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };
    for (const allowPrivate of [false, true]) {
      const refused = await refusal('http://nowhere.example/', allowPrivate, lookup);
      expect(refused).toMatchObject({ reason: 'unresolvable', message: 'host could not be resolved: ENOTFOUND' });
    }
  });

  it('refuses a name that resolves to nothing, or to something that is not an address', async () => {
    expect((await refusal('http://empty.example/', true, resolvesTo()))?.reason).toBe('unresolvable');
    expect((await refusal('http://odd.example/', true, resolvesTo('not-an-ip')))?.reason).toBe('unresolvable');
  });
});

describe('refusedAddressClass', () => {
  it('is null for global unicast and names the class otherwise', () => {
    expect(refusedAddressClass('8.8.8.8')).toBeNull();
    expect(refusedAddressClass('2606:4700:4700::1111')).toBeNull();
    expect(refusedAddressClass('192.168.0.1')).toBe('private');
    expect(refusedAddressClass('::ffff:192.168.0.1')).toBe('private');
  });

  it('throws on something that is not an IP address', () => {
    expect(() => refusedAddressClass('example.com')).toThrow(TypeError);
    expect(() => refusedAddressClass('0x7f.1')).toThrow(TypeError);
  });
});
