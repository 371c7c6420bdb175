import { z } from 'zod';

/** Numeric formats a job can run in; the catalog keeps a dense peak per format. */
export const PRECISIONS = ['fp64', 'tf32', 'fp32', 'bf16', 'fp16', 'fp8', 'int8', 'fp4'] as const;

/** The numeric format whose peak an estimate uses. */
export const precisionSchema = z.enum(PRECISIONS);
export type Precision = z.infer<typeof precisionSchema>;
