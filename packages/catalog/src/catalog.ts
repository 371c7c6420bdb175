import type { Precision } from '@flopwatch/contracts';
import { defineAccelerator, type Accelerator, type AcceleratorSpec } from './accelerator.js';
import { NVIDIA_DATACENTER } from './data-nvidia-datacenter.js';
import { NVIDIA_LEGACY } from './data-nvidia-legacy.js';
import { OTHER_VENDORS } from './data-other-vendors.js';

/** Every accelerator flopwatch can account for. */
export const accelerators: readonly Accelerator[] = [...NVIDIA_DATACENTER, ...OTHER_VENDORS, ...NVIDIA_LEGACY].map(defineAccelerator);

// Telemetry spells models many ways ("NVIDIA H100 80GB HBM3", "h100-sxm"): compare letters and digits only.
function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** A set of accelerators to look models up in. */
export interface Catalog {
  readonly accelerators: readonly Accelerator[];
  /** The accelerator a catalog id, name or telemetry alias names (case, spaces and punctuation ignored). */
  find(nameOrIdOrAlias: string): Accelerator | undefined;
}

// The ingest looks a model up several times per event; telemetry uses few spellings, so remember them.
// Bounded, because a spelling is input: a flood of junk names must not grow memory.
const RECENT_MAX = 1024;

/**
 * The built-in catalog plus `extra` rows (a policy pack's own, for hardware a deployment rents before
 * a flopwatch release lists it). An extra row with a built-in id or alias replaces the built-in one.
 */
export function createCatalog(extra: readonly AcceleratorSpec[] = []): Catalog {
  const rows = [...accelerators, ...extra.map(defineAccelerator)];
  const byName = new Map(rows.flatMap((acc) => [acc.id, acc.name, ...acc.aliases].map((key) => [normalize(key), acc] as const)));
  const recent = new Map<string, Accelerator | undefined>();
  return {
    accelerators: [...new Set(byName.values())],
    find(nameOrIdOrAlias) {
      if (recent.has(nameOrIdOrAlias)) return recent.get(nameOrIdOrAlias);
      const found = byName.get(normalize(nameOrIdOrAlias));
      if (recent.size >= RECENT_MAX) recent.clear();
      recent.set(nameOrIdOrAlias, found);
      return found;
    },
  };
}

const builtIn = createCatalog();

/** The accelerator a catalog id, name or telemetry alias names, in the built-in catalog. */
export function findAccelerator(nameOrIdOrAlias: string): Accelerator | undefined {
  return builtIn.find(nameOrIdOrAlias);
}

// When a chip lacks the job's format, the nearest format it runs that work in; bf16 and fp16 are
// interchangeable for counting, and a missing low-precision format falls back to 16-bit.
const FALLBACK: Record<Precision, readonly Precision[]> = {
  fp64: ['fp64', 'fp32'],
  tf32: ['tf32', 'fp32', 'bf16', 'fp16'],
  fp32: ['fp32', 'tf32', 'bf16', 'fp16'],
  bf16: ['bf16', 'fp16'],
  fp16: ['fp16', 'bf16'],
  fp8: ['fp8', 'bf16', 'fp16'],
  int8: ['int8', 'fp8', 'bf16', 'fp16'],
  fp4: ['fp4', 'fp8', 'bf16', 'fp16'],
};

/** The format whose peak stands for `precision` on this accelerator (itself when the chip has it). */
export function peakPrecision(acc: Accelerator, precision: Precision): Precision {
  const found = FALLBACK[precision].find((p) => acc.densePeakTflops[p] !== undefined);
  // Every row has a 16-bit peak (a catalog test checks it), the last resort of every chain but fp64's.
  return found ?? (acc.densePeakTflops.bf16 !== undefined ? 'bf16' : 'fp16');
}

/** Dense peak in FLOP/s for work in `precision`, using `peakPrecision`'s format. */
export function densePeakFlops(acc: Accelerator, precision: Precision): number {
  const tflops = acc.densePeakTflops[peakPrecision(acc, precision)] ?? 0;
  return tflops * 1e12;
}
