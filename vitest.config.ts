import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node libraries (Apollo, type-graphql) load graphql's CJS build; make the tests load the same one
    // ("Cannot use GraphQLObjectType from another module or realm" otherwise).
    alias: { graphql: require.resolve('graphql') },
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/utils/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The runtime flag the app is started with (package.json, Dockerfile): tests run what production runs.
    execArgv: ['--experimental-async-context-frame'],
    // Integration files each own a database and a Redis prefix; two cores, so two at a time.
    maxWorkers: 2,
  },
});
