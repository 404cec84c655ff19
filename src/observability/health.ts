import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

/** What `/readyz` checks: migrations applied, bootstrap tenant present, Postgres and Redis answering. */
export interface Health {
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

export interface HealthProbes {
  migrated: () => boolean;
  bootstrapped: () => Promise<boolean>;
  postgres: () => Promise<boolean>;
  /** `undefined` when the deployment runs without Redis (embedded default). */
  redis?: () => Promise<boolean>;
}

export function createHealth(p: HealthProbes): Health {
  return {
    async readiness() {
      const [pg, redis] = await Promise.all([
        p.postgres().catch(() => false),
        p.redis ? p.redis().catch(() => false) : Promise.resolve(undefined),
      ]);
      const boot = pg ? await p.bootstrapped().catch(() => false) : false;
      const checks: Record<string, string> = {
        migrations: p.migrated() ? 'ok' : 'pending',
        bootstrapTenant: boot ? 'ok' : 'missing',
        postgres: pg ? 'ok' : 'unavailable',
        redis: redis === undefined ? 'in-process' : redis ? 'ok' : 'unavailable',
      };
      const ready = Object.values(checks).every((v) => v === 'ok' || v === 'in-process');
      return { ready, checks };
    },
  };
}

export function registerHealthRoutes(app: FastifyInstance, health: Health, metrics: Metrics): void {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    const r = await health.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
