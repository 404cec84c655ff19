import { SingleBar, Presets } from 'cli-progress';
import { isProviderName, PROVIDER_NAMES } from '../providers/index.js';
import { runCli } from './run.js';

/**
 * `npm run replay -- --provider NAME --since ISO-TIME`: re-applies stored raw events
 * (after a bug fix), oldest first. Idempotent: the timeline is unique per stored event,
 * the ledger per deposit, and statuses only move forward, so running it twice changes nothing.
 */
const args = process.argv.slice(2);
const arg = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const provider = arg('--provider');
const sinceText = arg('--since');
const since = sinceText ? new Date(sinceText) : undefined;
if (!provider || !isProviderName(provider) || !since || Number.isNaN(since.getTime())) {
  console.error(`usage: npm run replay -- --provider ${PROVIDER_NAMES.join('|')} --since 2026-01-01T00:00:00Z`);
  process.exit(2);
}

await runCli(async (app) => {
  if (!app.providers.webhook(provider)) {
    console.error(`provider "${provider}" is not configured here (its WEBHOOK_SECRET_* is unset)`);
    return 1;
  }
  const total = await app.processor.countSince(provider, since);
  const bar = new SingleBar(
    { format: 'replay {bar} {value}/{total} events', stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  const outcomes = new Map<string, number>();
  for await (const rows of app.processor.rowsSince(provider, since)) {
    for (const row of rows) {
      const outcome = await app.processor.applyRow(row, true);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      bar.increment();
    }
  }
  bar.stop();
  console.log(`replayed ${total} ${provider} events received since ${since.toISOString()}`);
  for (const [outcome, n] of [...outcomes].sort()) console.log(`  ${outcome.padEnd(12)} ${n}`);
  return outcomes.has('failed') ? 1 : 0;
});
