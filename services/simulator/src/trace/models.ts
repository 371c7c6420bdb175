import { findAccelerator } from '@flopwatch/catalog';

/**
 * The GPU a pod ran on when the trace does not say. The default pod list leaves `gpu_spec` empty for
 * every pod, and most of the fleet is "G2"/"G3", models Alibaba does not name. We take the V100 SXM2
 * 32GB: the highest fp16 peak (125 TFLOP/s, tied with V100 16GB and A10) among the named models of
 * the fleet, so an unknown GPU errs toward counting more operations, as the policy does.
 */
export const DEFAULT_TRACE_ACCELERATOR = 'nvidia-tesla-v100-sxm2-32gb';

/** Node-list model names (`openb_node_list_*.csv`, column `model`) → catalog ids. */
export const TRACE_MODEL_MAP: Readonly<Record<string, string>> = {
  P100: 'nvidia-tesla-p100-pcie-16gb',
  T4: 'nvidia-tesla-t4',
  V100M16: 'nvidia-tesla-v100-sxm2-16gb',
  V100M32: 'nvidia-tesla-v100-sxm2-32gb',
  A10: 'nvidia-a10',
  // Unnamed generations in the published trace.
  G2: DEFAULT_TRACE_ACCELERATOR,
  G3: DEFAULT_TRACE_ACCELERATOR,
};

/**
 * The catalog id for a pod's `gpu_spec`: empty → the default; otherwise the first of its
 * `|`-separated alternatives (other trace files list several) that the map knows.
 */
export function traceAccelerator(gpuSpec: string): string {
  for (const alternative of gpuSpec.split('|').map((s) => s.trim()).filter(Boolean)) {
    const id = TRACE_MODEL_MAP[alternative];
    if (id) return id;
  }
  return DEFAULT_TRACE_ACCELERATOR;
}

/** Fails fast when the catalog lost a model the mapping names. */
export function assertTraceModelsInCatalog(): void {
  for (const id of new Set(Object.values(TRACE_MODEL_MAP))) {
    if (!findAccelerator(id)) throw new Error(`trace model map names ${id}, which the catalog does not have`);
  }
}
