import { useEffect, useState } from 'react';

/**
 * Client-side routes in the URL's hash, so the gateway serves one page (`/console/`) and every
 * route survives a reload without a server-side fallback:
 *   #/                  the deposit list
 *   #/deposits/<id>     a deposit's page
 * Add routes here (the Webhooks tab: `#/webhooks`).
 */
export type Route = { name: 'deposits' } | { name: 'deposit'; id: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const deposit = /^\/deposits\/([^/?#]+)$/.exec(path);
  if (deposit) {
    try {
      return { name: 'deposit', id: decodeURIComponent(deposit[1]) };
    } catch {
      return { name: 'deposits' };
    }
  }
  return { name: 'deposits' };
}

export const hrefs = {
  deposits: () => '#/',
  deposit: (id: string) => `#/deposits/${encodeURIComponent(id)}`,
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
