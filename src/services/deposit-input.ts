import { z } from 'zod';
import { canonical, decimalProblem, Dec } from '../domain/money.js';
import { BadUserInputError } from '../lib/errors.js';

/** The createDeposit input as GraphQL hands it over (all strings, optional fields absent or null). */
export interface CreateDepositRawInput {
  userId: string;
  currency: string;
  amount?: string | null;
  minAmount?: string | null;
  maxAmount?: string | null;
  provider?: string | null;
  redirectUrl?: string | null;
  userName?: string | null;
  userEmail?: string | null;
  language?: string | null;
}

/** Validated and normalized: amounts canonical, defaults applied. */
export interface CreateDepositInput {
  userId: string;
  currency: string;
  amount: string | null;
  minAmount: string | null;
  maxAmount: string | null;
  provider: string;
  redirectUrl: string | null;
  userName: string;
  userEmail: string | null;
  language: string | null;
}

/** Open-amount defaults, from deposit-tracking-session.txt (10 and 5000). */
const DEFAULT_MIN_AMOUNT = '10';
const DEFAULT_MAX_AMOUNT = '5000';

const decimalString = (opts: { positive: boolean }) =>
  z.string({ error: 'must be a decimal string such as "25.00", not a JSON number' }).superRefine((s, ctx) => {
    const problem = decimalProblem(s);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `${problem} (expected a decimal string such as "25.00", at most 18 decimals)`,
      });
      return;
    }
    const d = new Dec(s);
    if (opts.positive ? d.lte(0) : d.lt(0)) {
      ctx.addIssue({ code: 'custom', message: opts.positive ? 'must be greater than zero' : 'must not be negative' });
    }
  });

const nullish = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? null);

const InputSchema = z
  .object({
    userId: z.string().min(1, 'must not be empty').max(4000, 'must be at most 4000 characters'),
    currency: z.string().regex(/^[A-Z]{3,10}$/, 'must be 3 to 10 upper-case letters (e.g. USD, ETH)'),
    amount: nullish(decimalString({ positive: true })),
    minAmount: nullish(decimalString({ positive: false })),
    maxAmount: nullish(decimalString({ positive: false })),
    provider: nullish(z.string().min(1).max(32)),
    redirectUrl: nullish(
      z
        .string()
        .max(2000)
        .refine((s) => isHttpUrl(s), 'must be an absolute http(s) URL'),
    ),
    userName: nullish(z.string().min(1).max(4000)),
    userEmail: nullish(z.string().min(1).max(4000)),
    language: nullish(z.string().regex(/^[a-z]{2}$/i, 'must be a 2-letter language code')),
  })
  .superRefine((v, ctx) => {
    if (v.amount !== null && (v.minAmount !== null || v.maxAmount !== null)) {
      ctx.addIssue({
        code: 'custom',
        path: [v.minAmount !== null ? 'minAmount' : 'maxAmount'],
        message: 'give either a fixed amount or the bounds (minAmount, maxAmount), not both',
      });
      return;
    }
    const min = v.minAmount ?? DEFAULT_MIN_AMOUNT;
    const max = v.maxAmount ?? DEFAULT_MAX_AMOUNT;
    if (v.amount === null && new Dec(min).gt(new Dec(max))) {
      // Name the bound the caller sent: a lone maxAmount below the default minimum is what needs fixing.
      if (v.minAmount === null) {
        ctx.addIssue({ code: 'custom', path: ['maxAmount'], message: `must not be below minAmount (${min})` });
      } else {
        ctx.addIssue({ code: 'custom', path: ['minAmount'], message: `must not exceed maxAmount (${max})` });
      }
    }
  });

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

/**
 * Throws `BadUserInputError` naming the first offending field.
 * @param defaultProvider the provider of an input that names none (`DEFAULT_PROVIDER`, or the sandbox
 *   outside production); without one, `provider` is required.
 */
export function parseCreateDepositInput(raw: CreateDepositRawInput, defaultProvider?: string): CreateDepositInput {
  const r = InputSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new BadUserInputError(issue.path.join('.') || 'input', issue.message);
  }
  const v = r.data;
  const provider = v.provider ?? defaultProvider;
  if (provider === undefined) {
    throw new BadUserInputError('provider', 'is required: this deployment has no DEFAULT_PROVIDER');
  }
  const fixed = v.amount !== null;
  return {
    userId: v.userId,
    currency: v.currency,
    amount: fixed ? canonical(v.amount!) : null,
    minAmount: fixed ? null : canonical(v.minAmount ?? DEFAULT_MIN_AMOUNT),
    maxAmount: fixed ? null : canonical(v.maxAmount ?? DEFAULT_MAX_AMOUNT),
    provider,
    redirectUrl: v.redirectUrl,
    userName: v.userName ?? v.userId,
    userEmail: v.userEmail,
    language: v.language ? v.language.toLowerCase() : null,
  };
}
