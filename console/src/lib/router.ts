import { useEffect, useState } from 'react';

/**
 * Client-side routes in the URL's hash, so the gateway serves one page (`/console/`) and every
 * route survives a reload without a server-side fallback:
 *   #/                  the deposit list
 *   #/deposits/<id>     a deposit's page
 *   #/webhooks          the merchant webhook endpoints
 *   #/webhooks/<id>     the same, with that endpoint's delivery log
 */
export type Route =
  { name: 'deposits' } | { name: 'deposit'; id: string } | { name: 'webhooks'; endpointId: string | null };

function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const deposit = /^\/deposits\/([^/?#]+)$/.exec(path);
  if (deposit) {
    const id = decoded(deposit[1]);
    return id === null ? { name: 'deposits' } : { name: 'deposit', id };
  }
  if (path === '/webhooks') return { name: 'webhooks', endpointId: null };
  const endpoint = /^\/webhooks\/([^/?#]+)$/.exec(path);
  if (endpoint) return { name: 'webhooks', endpointId: decoded(endpoint[1]) };
  return { name: 'deposits' };
}

export const hrefs = {
  deposits: () => '#/',
  deposit: (id: string) => `#/deposits/${encodeURIComponent(id)}`,
  webhooks: () => '#/webhooks',
  deliveries: (endpointId: string) => `#/webhooks/${encodeURIComponent(endpointId)}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(href: string): void {
  if (location.hash !== href) location.hash = href;
}
