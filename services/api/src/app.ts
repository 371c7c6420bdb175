// The API as a factory: external plugins → app plugins → routes (fastify/demo's composition).
// main.ts owns the clients and listening; tests build it with real clients and use app.inject().
import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { authenticate, bearerToken, createKeyring } from './auth.js';
import { startAuditSealing } from './audit-sealing.js';
import { startScreening } from './screening.js';
import { saveScreenedTenant } from './routes/tenants.js';
import { startCaseSweep } from './case-sweep.js';
import type { ApiDeps, ApiLimits } from './deps.js';
import { ApiError } from './errors.js';
import { registerConsole } from './plugins/console.js';
import { registerDocs } from './plugins/docs.js';
import { frameworkErrors, registerErrorHandling } from './plugins/errors.js';
import { registerHttpMetrics } from './plugins/http-metrics.js';
import { alertRoutes } from './routes/alerts.js';
import { auditRoutes } from './routes/audit.js';
import { caseRoutes } from './routes/cases.js';
import { behaviourLinkRoutes } from './routes/behaviour-links.js';
import { healthRoutes } from './routes/health.js';
import { lineageRoutes } from './routes/lineages.js';
import { notifierRoutes } from './routes/notifier.js';
import { policyRoutes } from './routes/policy.js';
import { statementRoutes } from './routes/statements.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { tenantRoutes } from './routes/tenants.js';
import { usageRoutes } from './routes/usage.js';
import { webhookRoutes } from './routes/webhooks.js';
import { whoamiRoutes } from './routes/whoami.js';

export type { ApiDeps, ApiLimits, RouteOptions } from './deps.js';
export { requireRole, hashKey, parseApiKeys, type Role, type Principal } from './auth.js';

const DEFAULT_LIMITS: ApiLimits = { bodyLimit: 1024 * 1024, rateLimitMax: 600, rateLimitWindowMs: 60_000, requestTimeoutMs: 30_000 };

/** Builds the API (not listening); close it with app.close(). */
export async function buildApp(deps: ApiDeps) {
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: limits.bodyLimit,
    handlerTimeout: limits.requestTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // A caller's X-Request-Id is kept (for tracing across systems) when it is a sane token.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    routerOptions: { maxParamLength: 256 },
    frameworkErrors,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addContentTypeParser(['application/cloudevents+json', 'application/cloudevents-batch+json'], { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);

  // External plugins.
  const keyring = createKeyring(deps.apiKeys);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', authenticate(keyring));
  await app.register(rateLimit, {
    global: true,
    ...(deps.rateLimitStore ? { redis: deps.rateLimitStore.redis, nameSpace: `${deps.rateLimitStore.prefix}ratelimit:`, skipOnError: true } : {}),
    max: limits.rateLimitMax,
    timeWindow: limits.rateLimitWindowMs,
    // Per API key; callers without a valid key share their address' budget.
    keyGenerator: (request) => {
      const token = bearerToken(request);
      const principal = token ? keyring.authenticate(token) : null;
      return principal ? `key:${principal.name}` : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) => new ApiError(429, 'RATE_LIMITED', `rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${context.after}`, { retryAfter: context.after }),
  });
  await registerDocs(app, deps.pack.version);

  // App plugins.
  registerHttpMetrics(app, deps.metricsRegistry);

  // A store written before the case queue's indexes and the per-case audit lists gets them before
  // the API serves (a no-op once done; see the store's case-index.ts and audit.ts indexCases).
  const migrated = { cases: await deps.store.caseIndex.migrate(), caseAuditEntries: await deps.store.audit.indexCases() };
  if (migrated.cases + migrated.caseAuditEntries > 0) deps.log.info(migrated, 'case indexes built');
  // Screening against the provider's list: loaded (and the registry screened) before routes take KYC writes.
  if (deps.screening) {
    const screening = await startScreening({
      ...deps.screening,
      store: deps.store,
      log: deps.log.child({ component: 'screening' }),
      metricsRegistry: deps.metricsRegistry,
      save: (tenant) => saveScreenedTenant(deps, tenant),
      ...(deps.now ? { now: deps.now } : {}),
    });
    deps = { ...deps, screeningList: () => screening.current() };
    app.addHook('onClose', () => screening.close());
  }

  // Routes: each plugin gets its dependencies through options.
  await app.register(healthRoutes, { deps });
  await app.register(whoamiRoutes, { prefix: '/v1', deps });
  await app.register(telemetryRoutes, { prefix: '/v1', deps });
  await app.register(tenantRoutes, { prefix: '/v1', deps });
  await app.register(lineageRoutes, { prefix: '/v1', deps });
  await app.register(usageRoutes, { prefix: '/v1', deps });
  await app.register(alertRoutes, { prefix: '/v1', deps });
  await app.register(caseRoutes, { prefix: '/v1', deps });
  await app.register(behaviourLinkRoutes, { prefix: '/v1', deps });
  await app.register(auditRoutes, { prefix: '/v1', deps });
  await app.register(policyRoutes, { prefix: '/v1', deps });
  await app.register(statementRoutes, { prefix: '/v1', deps });
  await app.register(webhookRoutes, { prefix: '/v1', deps, ...(deps.webhooks ? { webhooks: deps.webhooks } : {}) });
  await app.register(notifierRoutes, { prefix: '/v1', deps });

  await registerConsole(app, deps.consoleDir);

  if (deps.auditSealing !== false) {
    const sealer = startAuditSealing(deps.store, deps.metricsRegistry, deps.log.child({ component: 'audit-sealer' }), {
      ...deps.auditSealing,
      ...(deps.auditTopic ? { publish: { producer: deps.auditTopic.producer, topic: deps.auditTopic.topic } } : {}),
    });
    app.addHook('onClose', () => sealer.close());
  }
  if (deps.caseSweep !== false) {
    const sweep = startCaseSweep(deps.store, deps.metricsRegistry, deps.log.child({ component: 'case-sweep' }), { ...deps.caseSweep, ...(deps.now ? { now: deps.now } : {}) });
    app.addHook('onClose', () => sweep.close());
  }

  await app.ready();
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
