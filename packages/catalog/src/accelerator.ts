import type { Precision } from '@flopwatch/contracts';

/** ECCN 3A090 class computed from the thresholds; not an official classification. */
export type Class3A090 = '3A090.a' | 'none';

/** What a catalog row states; the derived fields are computed by `defineAccelerator`. */
export interface AcceleratorSpec {
  /** Stable id used in events and keys, e.g. `nvidia-h100-sxm5-80gb`. */
  id: string;
  vendor: string;
  name: string;
  /** Names telemetry reports (nvidia-smi, DCGM, schedulers) and common short forms. */
  aliases: readonly string[];
  /** Dense (not sparse) datasheet peaks in TFLOP/s (TOPS for int8), per format the chip supports. */
  densePeakTflops: Partial<Record<Precision, number>>;
  /** Total Processing Performance: dense TOPS × bit length, maximised over formats. */
  tpp: number;
  dieAreaMm2: number | null;
  /** Datasheet and notes on any figure that needs one. */
  source: string;
}

/** A catalog row with its export-control figures. */
export interface Accelerator extends AcceleratorSpec {
  class3A090: Class3A090;
  /** TPP / 15,832 (one H100 SXM). */
  h100Equivalents: number;
}

// ECCN 3A090.a thresholds (DOMAIN.md): TPP ≥ 4800, or TPP ≥ 1600 with TPP per mm² of die ≥ 5.92.
const TPP_ALONE = 4800;
const TPP_WITH_DENSITY = 1600;
const MIN_DENSITY = 5.92;
const H100_TPP = 15_832;

/** The 3A090 class that the TPP and performance-density thresholds give. */
export function classify3A090(tpp: number, dieAreaMm2: number | null): Class3A090 {
  if (tpp >= TPP_ALONE) return '3A090.a';
  if (tpp >= TPP_WITH_DENSITY && dieAreaMm2 !== null && tpp / dieAreaMm2 >= MIN_DENSITY) return '3A090.a';
  return 'none';
}

/** Completes a spec with its 3A090 class and H100-equivalents. */
export function defineAccelerator(spec: AcceleratorSpec): Accelerator {
  return { ...spec, class3A090: classify3A090(spec.tpp, spec.dieAreaMm2), h100Equivalents: spec.tpp / H100_TPP };
}
