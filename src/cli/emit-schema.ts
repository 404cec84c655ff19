import 'reflect-metadata';
import { buildGatewaySchema } from '../schema/build.js';

/** `npm run schema:emit`: writes schema.graphql (committed; codegen and CI read it). */
await buildGatewaySchema('schema.graphql');
