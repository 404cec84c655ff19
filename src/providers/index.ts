import { depasify } from './depasify.provider.js';
import { finrax } from './finrax.provider.js';
import { instap } from './instap.provider.js';
import { layer1 } from './layer1.provider.js';
import type { ProviderModule } from './provider.js';
import { sandbox } from './sandbox.provider.js';

/**
 * THE list of providers. Configuration, the registry, the wiring, the replay command and the
 * provider contract tests loop over it: a new provider is its module and one entry here.
 */
export const PROVIDERS = [sandbox, instap, layer1, depasify, finrax] as const;

export type AnyProvider = (typeof PROVIDERS)[number];
export type ProviderName = AnyProvider['name'];

export const PROVIDER_NAMES: readonly ProviderName[] = PROVIDERS.map((p) => p.name);

export function isProviderName(s: string): s is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(s);
}

/** The API settings type of a module (`undefined` for a provider without an API). */
export type ApiOf<M> = M extends ProviderModule<string, infer Api> ? Api : never;

/** Each provider's webhook secret (`WEBHOOK_SECRET_<NAME>`) by name; unset ones absent or undefined. */
export type ProviderSecrets = { [N in ProviderName]?: string };

/** Each provider with an API, by name: its API settings, or undefined while its variables are not all set. */
export type ProviderApis = {
  [M in AnyProvider as [ApiOf<M>] extends [undefined] ? never : M['name']]?: ApiOf<M>;
};
