/**
 * The API key lives in this tab's sessionStorage only: not in localStorage, not in a cookie,
 * not in the URL. Closing the tab or "Sign out" forgets it.
 */
const STORAGE_KEY = 'deposit-gateway.console.api-key';

export function loadApiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function saveApiKey(apiKey: string): void {
  sessionStorage.setItem(STORAGE_KEY, apiKey);
}

export function forgetApiKey(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled: nothing was kept.
  }
}
