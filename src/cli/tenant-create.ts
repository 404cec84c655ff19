import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { runCli } from './run.js';

/**
 * `npm run tenant:create -- NAME [--hmac]`: creates a tenant and prints its API key
 * (and HMAC secret) once, then on a line of its own an OPERATOR key (`operator key: ...`). The key is stored only as a hash; the secret never appears
 * in logs or API answers.
 */
const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('--'));
const unknown = args.filter((a) => a.startsWith('--') && a !== '--hmac');
if (!name || unknown.length > 0 || !/^[\w.-]{1,200}$/.test(name)) {
  console.error('usage: npm run tenant:create -- NAME [--hmac]   (NAME: letters, digits, _ . -)');
  process.exit(2);
}

await runCli(async (app) => {
  let t;
  try {
    t = await app.tenants.create(name, { hmac: args.includes('--hmac') });
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      console.error(`a tenant named "${name}" already exists`);
      return 1;
    }
    throw err;
  }
  console.log(`tenant:      ${t.name} (${t.tenantId})`);
  console.log(`api key:     ${t.apiKey}`);
  if (t.hmacSecret) console.log(`hmac secret: ${t.hmacSecret}`);
  console.log('Store these now: they are not shown again.');
  console.log(`operator key: ${t.operatorKey}`);
});
