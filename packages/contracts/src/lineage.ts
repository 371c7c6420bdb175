import { z } from 'zod';
import { idSchema, textSchema } from './ids.js';

/** A model lineage: its operations add to its ancestors' through `parentId` (4E091 counts subsequent training). */
export const lineageSchema = z.object({
  id: idSchema,
  parentId: idSchema.nullable(),
  tenantId: idSchema.optional(),
  baseModel: z
    .object({
      name: textSchema(256).min(1),
      // Published (open) weights are outside 4E091; the rule engine needs to know.
      publishedWeights: z.boolean(),
      pretrainingOperations: z.number().min(0).max(1e30).nullable(),
    })
    .nullable(),
  notes: textSchema(10_000),
});
export type Lineage = z.infer<typeof lineageSchema>;
