export { AppError, isRetryable, type AppErrorOptions } from './errors.js';
export { loadConfig, exitOnConfigError, ConfigError, CONFIG_ERROR_CODES, type ConfigErrorCode, type ConfigProblem, type Env, type ExitTarget } from './config.js';
export { envBoolean, envInt, envList, envDuration, type EnvIntOptions, type EnvListOptions, type EnvDurationOptions } from './env.js';
export { redactConfig, redactUrlPassword, REDACTED, SECRET_KEY_PATTERN } from './redact.js';
export { createLogger, REDACT_PATHS, type Logger, type LoggerOptions } from './logger.js';
export { createMetricsRegistry, type MetricsRegistryOptions } from './metrics.js';
export { startOpsServer, type OpsServer, type OpsServerOptions, type Readiness } from './ops-server.js';
export { createShutdown, installSignalHandlers, type Shutdown, type ShutdownOptions, type ShutdownResult, type CloseFn, type SignalTarget, type SignalHandlerOptions } from './shutdown.js';
export { backoff, retry, sleep, type BackoffOptions, type RetryOptions } from './backoff.js';
