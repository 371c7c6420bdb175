export { parsePodList, podListPath, readPodList, requirePodList, tracePodSchema, type TracePod } from './pods.js';
export { DEFAULT_TRACE_ACCELERATOR, TRACE_MODEL_MAP, assertTraceModelsInCatalog, traceAccelerator } from './models.js';
export { DEFAULT_TRACE_OPTIONS, jobEvents, podToJob, traceEvents, traceJobs, traceTenant, type SkipReason, type TraceConversion, type TraceJob, type TraceReplayOptions } from './convert.js';
export { replayTrace, type TenantBooks, type TraceIngest, type TraceReplayResult, type TraceReplayRun } from './replay.js';
