import { z } from 'zod';

/**
 * zod pieces for environment variables, shared by the core configuration (`config.ts`) and
 * the providers' parts of it (`providers/<name>.provider.ts`). zod lives at this edge only.
 */

/** Checkout links, callbacks and provider APIs are fetched or opened over HTTP: "localhost:4000" is not one. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' });

/** A Standard Webhooks secret, as providers print it. */
export const whsecSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be a Standard Webhooks secret: whsec_<base64>');

export const optionalNonEmpty = z.string().min(1).optional();

/** `url` without trailing slashes, so `${url}/path` never doubles one. */
export function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
