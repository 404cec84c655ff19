import 'reflect-metadata';
import { loadConfig } from '../config.js';
import { createOrm, migrate } from '../db/orm.js';
import { createLogger } from '../observability/logger.js';

/**
 * `npm run migration:create [-- --blank] [-- --name NAME]`: writes a migration for the difference
 * between the entities and the database at DATABASE_URL (migrate that database first).
 */
const config = loadConfig();
const logger = createLogger(config.logLevel);
if (!config.databaseUrl) {
  logger.error('DATABASE_URL: required for migration:create (point it at a scratch database)');
  process.exit(1);
}
const args = process.argv.slice(2);
const db = { databaseUrl: config.databaseUrl, ...config.db };
const orm = await createOrm(db);
try {
  await migrate(orm, db, logger);
  const nameAt = args.indexOf('--name');
  const result = await orm.migrator.create(
    'src/entities/migrations',
    args.includes('--blank'),
    false,
    nameAt >= 0 ? args[nameAt + 1] : undefined,
  );
  logger.info({ file: result.fileName }, result.diff.up.length ? 'migration written' : 'no schema changes');
  console.log(result.code);
} finally {
  await orm.close();
}
