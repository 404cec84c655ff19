import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import { canonical, decimalProblem, isPositive } from '../domain/money.js';
import { sandbox } from '../providers/sandbox.provider.js';
import type { ClientTokens } from '../services/client-token.js';
import type { DepositService } from '../services/deposits.service.js';
import { encodeStatusCursor } from '../services/status-cursor.js';
import { signStandardWebhook } from '../lib/signatures/standard-webhooks.js';

/**
 * The sandbox: the built-in payment service of handling-deposits.txt. Its
 * checkout page is served by the gateway; paying sends a signed webhook to the
 * sidecar exactly as an external provider would, so the sandbox exercises the
 * whole path (signature, inbox, rules, credit, live status).
 */
export interface SandboxPayments {
  /**
   * Throws `SandboxPaymentRefusedError` when the sidecar refuses the payment (4xx: sending it again
   * changes nothing), any other error when it could not be delivered (5xx, network, timeout).
   */
  pay(p: { depositId: string; amount: string; currency: string; status: 'PAID' | 'FAILED' }): Promise<void>;
  /** Keeps what was paid in the sandbox's own books (`sandbox_payment`): its status API reads it. */
  record(p: {
    depositId: string;
    amount: string | null;
    currency: string | null;
    status: 'PAID' | 'FAILED';
  }): Promise<void>;
}

/** The sidecar answered a sandbox payment with a 4xx, for the reason it gives. */
class SandboxPaymentRefusedError extends Error {
  override readonly name = 'SandboxPaymentRefusedError';
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`the webhook sidecar refused the payment (${status}): ${reason}`);
  }
}

/** The sidecar's own words: its JSON `message`, else its `code`, else the status. */
async function refusalReason(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown; code?: unknown };
    if (typeof body.message === 'string' && body.message) return body.message;
    if (typeof body.code === 'string' && body.code) return body.code;
  } catch {
    // not JSON: the status says it
  }
  return `answered ${res.status}`;
}

export function createSandboxPayments(
  webhookUrl: string,
  secret: () => string | undefined,
  timeoutMs = 10_000,
  record: SandboxPayments['record'] = async () => {},
): SandboxPayments {
  return {
    record,
    async pay(p) {
      const key = secret();
      if (!key) throw new Error('the sandbox provider is not configured');
      const eventId = randomUUID();
      const body = JSON.stringify({
        eventId,
        depositId: p.depositId,
        amount: p.amount,
        currency: p.currency,
        status: p.status,
      });
      const id = `msg_${eventId}`;
      const ts = Math.floor(Date.now() / 1000);
      const res = await fetch(`${webhookUrl}/webhooks/${sandbox.name}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signStandardWebhook(key, id, ts, body),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.status >= 400 && res.status < 500) {
        throw new SandboxPaymentRefusedError(res.status, await refusalReason(res));
      }
      if (!res.ok) throw new Error(`the webhook sidecar answered ${res.status}`);
    },
  };
}

/** The sandbox's pages live under its name, where its starter links (`/sandbox/checkout/<id>`). */
const BASE = `/${sandbox.name}`;

const PayBody = z.object({
  amount: z.string().refine((s) => decimalProblem(s) === undefined, 'must be a decimal string'),
  currency: z.string().regex(/^[A-Z0-9]{1,20}$/, 'must be a currency code'),
  status: z.enum(['PAID', 'FAILED']).default('PAID'),
  /** false: recorded, and no webhook is sent (a provider whose notification was lost). */
  notify: z.boolean().default(true),
});

export function registerSandboxCheckout(
  app: FastifyInstance,
  payments: SandboxPayments,
  deposits: DepositService,
  clientTokens: ClientTokens,
  config: Config,
): void {
  const require = createRequire(import.meta.url);
  // The browser build ships in the package but is not exported: find it beside the package's entry.
  const wsClientPath = path.join(path.dirname(require.resolve('graphql-ws')), '..', 'umd', 'graphql-ws.min.js');

  app.get(`${BASE}/graphql-ws.js`, async (_req, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(await readFile(wsClientPath)),
  );

  app.get<{ Params: { id: string } }>(`${BASE}/checkout/:id`, async (req, reply) => {
    const deposit = await deposits.getById(req.params.id);
    if (!deposit || deposit.provider !== sandbox.name) {
      return reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(page('Not found', '<p>No such sandbox deposit.</p>'));
    }
    const wsUrl = `${config.publicUrl.replace(/^http/, 'ws')}/graphql`;
    const data = {
      depositId: deposit.id,
      clientToken: clientTokens.issue(deposit.id),
      wsUrl,
      redirectUrl: deposit.redirectUrl ?? null,
      status: deposit.status,
      // From the first change of this deposit: nothing between rendering and subscribing is missed.
      after: encodeStatusCursor('0'),
    };
    const asked = deposit.amount
      ? `<strong>${esc(deposit.amount)} ${esc(deposit.currency)}</strong>`
      : `between <strong>${esc(deposit.minAmount ?? '0')}</strong> and <strong>${esc(deposit.maxAmount ?? '')} ${esc(deposit.currency)}</strong>`;
    const body = `
<h1>Sandbox checkout</h1>
<p>Deposit <code>${esc(deposit.id)}</code> asks for ${asked}.</p>
<p>Status: <strong id="status" data-status="${esc(deposit.status)}">${esc(deposit.status)}</strong></p>
<form id="pay">
  <label>Amount <input id="amount" name="amount" value="${esc(deposit.amount ?? deposit.minAmount ?? '')}" inputmode="decimal" required></label>
  <label>Currency <input id="currency" name="currency" value="${esc(deposit.currency)}" required></label>
  <button id="pay-button" type="submit">Pay</button>
  <button id="fail-button" type="button">Fail the payment</button>
  <button id="pay-silent-button" type="button">Pay without notifying</button>
</form>
<p id="message" role="status"></p>
<script src="${BASE}/graphql-ws.js"></script>
<script>
const DATA = ${JSON.stringify(data).replace(/</g, '\\u003c')};
const statusEl = document.getElementById('status');
const messageEl = document.getElementById('message');
const FINAL = ['COMPLETED', 'REJECTED', 'EXPIRED', 'FAILED'];
const REASONS = { UNDERPAID: 'less than asked was paid', CURRENCY_MISMATCH: 'paid in another currency', LATE_PAYMENT: 'paid after the deposit expired' };
// Set on click, not when the POST answers: the live status can arrive before the answer does.
let paying = false;
let final = false;
function show(status, deposit) {
  statusEl.textContent = status;
  statusEl.dataset.status = status;
  if (!FINAL.includes(status) || final) return;
  final = true;
  for (const el of document.querySelectorAll('#pay input, #pay button')) el.disabled = true;
  const received = deposit && deposit.receivedAmount ? deposit.receivedAmount + ' ' + deposit.receivedCurrency : null;
  messageEl.textContent =
    status === 'COMPLETED' ? 'Payment received' + (received ? ': ' + received : '') + '.'
    : status === 'REJECTED' ? 'Payment rejected: ' + (REASONS[deposit && deposit.rejectionReason] || 'refused') + (received ? ' (received ' + received + ').' : '.')
    : status === 'EXPIRED' ? 'This deposit has expired.'
    : 'The payment failed.';
  if (paying && DATA.redirectUrl) setTimeout(() => location.assign(DATA.redirectUrl), 1500);
}
show(DATA.status, null);
const client = graphqlWs.createClient({ url: DATA.wsUrl, connectionParams: { clientToken: DATA.clientToken }, retryAttempts: Infinity });
client.subscribe(
  { query: 'subscription($id: ID, $after: String) { depositStatusChanged(depositId: $id, after: $after) { status deposit { status receivedAmount receivedCurrency rejectionReason } } }', variables: { id: DATA.depositId, after: DATA.after } },
  { next: (r) => r.data && show(r.data.depositStatusChanged.deposit.status, r.data.depositStatusChanged.deposit), error: (e) => { messageEl.textContent = 'Live status unavailable'; console.error(e); }, complete: () => {} },
);
async function pay(status, notify = true) {
  paying = true;
  messageEl.textContent = 'Sending the payment...';
  let res;
  try {
    res = await fetch(location.pathname + '/pay', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: document.getElementById('amount').value.trim(), currency: document.getElementById('currency').value.trim().toUpperCase(), status, notify }),
    });
  } catch {
    paying = false;
    messageEl.textContent = 'The gateway could not be reached; try again.';
    return;
  }
  const out = await res.json().catch(() => ({ message: 'The gateway answered ' + res.status + '.' }));
  if (!res.ok) paying = false;
  // The endpoint's messages are whole sentences: a refusal says why, only a delivery failure says to try again.
  if (!final) messageEl.textContent = !res.ok ? out.message : notify ? 'Payment sent; waiting for the gateway...' : 'Paid; the gateway was not told (sync the deposit to recover it).';
}
document.getElementById('pay').addEventListener('submit', (e) => { e.preventDefault(); pay('PAID'); });
document.getElementById('fail-button').addEventListener('click', () => pay('FAILED'));
document.getElementById('pay-silent-button').addEventListener('click', () => { if (document.getElementById('pay').reportValidity()) pay('PAID', false); });
</script>`;
    return reply.type('text/html; charset=utf-8').send(page('Sandbox checkout', body));
  });

  app.post<{ Params: { id: string } }>(`${BASE}/checkout/:id/pay`, async (req, reply) => {
    const deposit = await deposits.getById(req.params.id);
    if (!deposit || deposit.provider !== sandbox.name)
      return reply.code(404).send({ message: 'no such sandbox deposit' });
    const parsed = PayBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return reply.code(400).send({ message: `Payment refused: ${issue.path.join('.')}: ${issue.message}` });
    }
    const { notify, ...payment } = parsed.data;
    if (!notify) {
      // Nothing checks it on the way (no webhook): refuse here what the provider's books cannot hold.
      const problem = payment.status === 'PAID' && !isPositive(payment.amount) ? 'must be positive' : undefined;
      if (problem) return reply.code(400).send({ message: `Payment refused: amount: ${problem}` });
    }
    try {
      // A payment the sidecar would refuse (a non-positive amount) never reached the provider's books.
      if (payment.status === 'FAILED' || isPositive(payment.amount)) {
        await payments.record({
          depositId: deposit.id,
          status: payment.status,
          amount: isPositive(payment.amount) ? canonical(payment.amount) : null,
          currency: payment.currency,
        });
      }
      if (!notify) return reply.send({ status: 'recorded', redirectUrl: deposit.redirectUrl ?? null });
      await payments.pay({ depositId: deposit.id, ...payment });
    } catch (err) {
      if (err instanceof SandboxPaymentRefusedError) {
        req.log.info({ status: err.status, reason: err.reason, depositId: deposit.id }, 'sandbox payment refused');
        // A 400 is about what was typed, which the user can change; any other refusal is the setup's.
        if (err.status === 400) return reply.code(400).send({ message: `Payment refused: ${err.reason}` });
        return reply.code(502).send({
          message: `Payment refused by the webhook sidecar: ${err.reason} (check that the gateway and the sidecar share WEBHOOK_SECRET_SANDBOX, and WEBHOOK_URL)`,
        });
      }
      req.log.warn({ err: (err as Error).message, depositId: deposit.id }, 'sandbox payment not delivered');
      return reply.code(502).send({ message: 'The payment could not be delivered to the webhook sidecar; try again.' });
    }
    return reply.send({ status: 'sent', redirectUrl: deposit.redirectUrl ?? null });
  });
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.5rem 0}input{font:inherit;padding:.25rem}button{font:inherit;margin:.5rem .5rem 0 0;padding:.4rem 1rem}
#status{font-size:1.25rem}#status[data-status=COMPLETED]{color:#137333}
#status[data-status=REJECTED],#status[data-status=FAILED],#status[data-status=EXPIRED]{color:#b3261e}</style></head><body>${body}</body></html>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
