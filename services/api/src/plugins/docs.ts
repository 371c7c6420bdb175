import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/** OpenAPI 3 generated from the routes' zod schemas: browsable at /docs, JSON at /docs/json. */
export async function registerDocs(app: FastifyInstance, policyVersion: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'flopwatch API',
        description: 'KYC registry, lineages, usage, alert triage, audit and telemetry over HTTP. Bearer API keys with roles admin, analyst, ingest, viewer.',
        version: '1.0.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: `API key (policy ${policyVersion})` } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'ops', description: 'health, readiness, metrics (no key)' },
        { name: 'session' }, { name: 'telemetry' }, { name: 'tenants' }, { name: 'lineages' }, { name: 'usage' }, { name: 'alerts' }, { name: 'cases' }, { name: 'audit' }, { name: 'policy' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
