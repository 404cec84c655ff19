import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the integration tests, generated offline from the
 * committed schema.graphql (emitted by type-graphql: `npm run schema:emit`).
 * The tests send these documents exactly as a real client would.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/graphql/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { Decimal: 'string', DateTime: 'string' },
      },
    },
  },
};

export default config;
