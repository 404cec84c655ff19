import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents generated offline from the committed schema.graphql (emitted by
 * type-graphql: `npm run schema:emit`): for the integration tests, which send them
 * exactly as a real client would, and for the operator console (`console/`).
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: false,
  generates: {
    'test/generated/': {
      documents: ['test/graphql/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { Decimal: 'string', DateTime: 'string' },
      },
    },
    // The console's documents as plain strings (`documentMode: 'string'`): the browser bundle
    // needs no graphql-js to send them. Formatted by prettier, since these files are committed
    // and checked like the rest of console/.
    'console/src/generated/': {
      documents: ['console/src/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { Decimal: 'string', DateTime: 'string' },
      },
      hooks: { afterOneFileWrite: ['prettier --write'] },
    },
  },
};

export default config;
