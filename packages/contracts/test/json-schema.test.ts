import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PUBLIC_CONTRACTS, contractJsonSchema, type PublicContractName } from '../src/index.js';
import { VALID_SAMPLES, mutated } from './arbitraries.js';

const NAMES = Object.keys(PUBLIC_CONTRACTS) as PublicContractName[];
const schemaDir = new URL('../schema/', import.meta.url);

// unicode: false counts string length in UTF-16 units, as zod does; multipleOfPrecision makes
// `multipleOf: 0.001` tolerate binary floating point (0.3 / 0.001 is 299.99999999999994), as zod does (6 digits: counts reach 10^6 with 3 decimals).
const ajv = new Ajv2020({ strict: false, unicode: false, multipleOfPrecision: 6, allErrors: false });
addFormats.default(ajv);

describe('published JSON Schema', () => {
  it.each(NAMES)('schema/%s.json matches the zod schema (run `pnpm --filter @flopwatch/contracts gen:schema` when this fails)', (name) => {
    const onDisk = readFileSync(fileURLToPath(new URL(`${name}.json`, schemaDir)), 'utf8');
    expect(onDisk).toBe(`${JSON.stringify(contractJsonSchema(name), null, 2)}\n`);
  });

  describe.each(NAMES)('%s', (name) => {
    const validate = ajv.compile(contractJsonSchema(name));
    const zod = PUBLIC_CONTRACTS[name];

    it('accepts every generated valid sample, as zod does', () => {
      fc.assert(
        fc.property(VALID_SAMPLES[name], (sample) => {
          const wire: unknown = JSON.parse(JSON.stringify(sample));
          expect(zod.safeParse(wire).success).toBe(true);
          expect(validate(wire)).toBe(true);
        }),
        { numRuns: 200 },
      );
    });

    it('accepts a mutated sample exactly when zod does', () => {
      fc.assert(
        fc.property(mutated(VALID_SAMPLES[name]), (sample) => {
          expect(validate(sample)).toBe(zod.safeParse(sample).success);
        }),
        { numRuns: 1000 },
      );
    });
  });
});
