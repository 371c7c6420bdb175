import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alertRuleSchema, alertScopeSchema, severitySchema } from '@flopwatch/contracts';
import { policyPackSchema, RULES, type PolicyPack } from '@flopwatch/policy';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { errors } from '../schemas.js';

const ruleSchema = z.object({
  rule: alertRuleSchema,
  label: z.string().describe('the rule\'s name as the console shows it'),
  scopes: z.array(alertScopeSchema),
  kind: z.enum(['threshold', 'banded', 'limit']).describe('what a level means: a fraction of a threshold, a band of days, or one limit'),
  quantity: z.string().describe('what the rule measures, in words, under this pack'),
  levels: z.array(z.object({ level: z.number(), severity: severitySchema, label: z.string() })),
}).meta({ id: 'PolicyRule' });

/** The rule table under a pack: each rule's label, scopes, kind, quantity and levels with their text. */
const rulesOf = (pack: PolicyPack) => Object.values(RULES).map((r) => ({ rule: r.rule, label: r.label, scopes: [...r.scopes], kind: r.kind, quantity: r.quantity(pack), levels: r.levels(pack) }));

/** GET /v1/policy: the pack in force and its rule table. */
export const policyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get('/policy', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['policy'], summary: 'The policy pack in force, its version and its rules (labels, levels)', response: { 200: z.object({ version: z.string(), pack: policyPackSchema, rules: z.array(ruleSchema) }), ...errors() } },
  }, async () => ({ version: deps.pack.version, pack: deps.pack, rules: rulesOf(deps.pack) }));
};
