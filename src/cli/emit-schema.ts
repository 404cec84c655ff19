import 'reflect-metadata';
import { buildGatewaySchema } from '../gateway/schema.js';

/** `npm run schema:emit`: writes schema.graphql (committed; codegen and CI read it). */
await buildGatewaySchema('schema.graphql');
