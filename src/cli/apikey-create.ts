import { ApiKeyRole } from '../domain/api-key-role.js';
import { BadUserInputError } from '../lib/errors.js';

/**
 * `npm run apikey:create -- --tenant NAME --role app|operator --label LABEL`: adds an API key
 * to a tenant and prints it once, alone on stdout (`npm run --silent ...` for exactly that line).
 * The key is stored only as its SHA-256.
 */
const USAGE = 'usage: npm run apikey:create -- --tenant NAME --role app|operator --label LABEL';

function parse(argv: string[]): { tenant: string; role: ApiKeyRole; label: string } | string {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!['--tenant', '--role', '--label'].includes(flag)) return `unknown argument "${flag}"`;
    if (value === undefined) return `${flag} needs a value`;
    if (values.has(flag)) return `${flag} given twice`;
    values.set(flag, value);
  }
  const tenant = values.get('--tenant');
  const role = values.get('--role')?.toUpperCase();
  const label = values.get('--label');
  if (!tenant) return '--tenant is required';
  if (role !== ApiKeyRole.APP && role !== ApiKeyRole.OPERATOR) return '--role must be app or operator';
  if (label === undefined) return '--label is required';
  return { tenant, role, label };
}

const args = parse(process.argv.slice(2));
if (typeof args === 'string') {
  console.error(`${args}\n${USAGE}`);
  process.exit(2);
}

// Loaded only once the arguments are good: a usage error answers at once.
const { runCli } = await import('./run.js');
await runCli(async (app) => {
  const rows = await app.orm.em.fork().execute<{ id: string }[]>('select id from tenant where name = ?', [args.tenant]);
  if (!rows[0]) {
    console.error(`no tenant named "${args.tenant}"`);
    return 1;
  }
  try {
    const created = await app.apiKeys.create(rows[0].id, args.role, args.label);
    process.stdout.write(`${created.key}\n`);
  } catch (err) {
    if (!(err instanceof BadUserInputError)) throw err;
    console.error(err.message);
    return 2;
  }
});
