import { SECRETS } from '../test/utils/harness.js';
import { signedHeaders } from '../test/utils/signing.js';
import { fixtureFor } from '../test/fixtures/index.js';

/**
 * The webhook events a scenario sends: the seed documents' own payloads
 * (test/fixtures), each pointed at a deposit created beforehand. layer1
 * deposits walk DETECTED → UNCONFIRMED → CONFIRMED → SCREENING_REQUESTED →
 * SUCCESS (one status change each, SUCCESS credits); sandbox deposits get one
 * PAID (completes and credits). Events are ordered in rounds (every deposit's
 * first event, then every deposit's second, ...) with the sandbox payments
 * spread over the rounds, so two events of one deposit are never close in the
 * sequence: each event finds its deposit in the previous status and changes it,
 * as a real provider's would.
 */

export const LAYER1_STEPS = [
  { file: 'layer1/01-detected.json', status: 'DETECTED' },
  { file: 'layer1/02-unconfirmed.json', status: 'CONFIRMING' },
  { file: 'layer1/03-confirmed.json', status: 'CONFIRMED' },
  { file: 'layer1/04-screening-requested.json', status: 'SCREENING' },
  { file: 'layer1/05-success.json', status: 'COMPLETED' },
] as const;

/** Amount and currency of the seeded deposits, equal to what the fixtures pay (so every payment is CORRECT). */
export const DEPOSIT_TERMS = {
  layer1: { currency: 'ETH', amount: '0.20' },
  sandbox: { currency: 'USD', amount: '25.00' },
} as const;

export type BenchProvider = keyof typeof DEPOSIT_TERMS;

export interface PlannedEvent {
  provider: BenchProvider;
  depositId: string;
  /** The unified status this event moves the deposit to. */
  status: string;
  /** Whether it completes the deposit (credit). */
  completes: boolean;
  fixture: string;
}

/**
 * `layer1Steps` events for every layer1 deposit (the first n of LAYER1_STEPS) and one PAID
 * for every sandbox deposit, in rounds.
 */
export function planEvents(
  layer1Ids: string[],
  sandboxIds: string[],
  layer1Steps: number = LAYER1_STEPS.length,
): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  const rounds = Math.max(1, layer1Steps);
  for (let r = 0; r < rounds; r++) {
    const step = LAYER1_STEPS[r];
    const l1: PlannedEvent[] =
      r < layer1Steps
        ? layer1Ids.map((id) => ({
            provider: 'layer1',
            depositId: id,
            status: step.status,
            completes: step.status === 'COMPLETED',
            fixture: step.file,
          }))
        : [];
    const sb: PlannedEvent[] = sandboxIds
      .slice(Math.floor((r * sandboxIds.length) / rounds), Math.floor(((r + 1) * sandboxIds.length) / rounds))
      .map((id) => ({
        provider: 'sandbox',
        depositId: id,
        status: 'COMPLETED',
        completes: true,
        fixture: 'sandbox/paid.json',
      }));
    // Merge the two lists evenly: each item at its relative position in its own list.
    let i = 0;
    let j = 0;
    while (i < l1.length || j < sb.length) {
      const takeL1 = j >= sb.length || (i < l1.length && (i + 0.5) / l1.length <= (j + 0.5) / sb.length);
      out.push(takeL1 ? l1[i++] : sb[j++]);
    }
  }
  return out;
}

export const SECRET_OF: Record<BenchProvider, string> = { layer1: SECRETS.layer1, sandbox: SECRETS.sandbox };

export interface SignedRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The exact request a provider would send for `e`: its fixture with our deposit id, signed with a fresh webhook-id. */
export function signedRequest(e: PlannedEvent, now = Math.floor(Date.now() / 1000)): SignedRequest {
  const body = fixtureFor(e.fixture, e.depositId);
  return {
    path: `/webhooks/${e.provider}`,
    headers: signedHeaders(SECRET_OF[e.provider], body, { timestamp: now }),
    body,
  };
}
