export { createKeys, type Keys } from './keys.js';
export { connectRedis, type RedisClient, type RedisConnectOptions } from './redis.js';
export { defineScripts, type ScriptCommands } from './scripts.js';
export { OPS_PER_UNIT, countedTeraOps, teraOpsPerMs, teraToOps } from './units.js';
export { createAccounting, type Accounting, type TenantApplyResult, type TenantTotals, type UsageRecord } from './accounting.js';
export { createAlertStore, type AlertStore, type StoredAlert } from './alerts.js';
export { createStore, type Store, type StoreOptions } from './store.js';
export { createRegistry, type GroupChange, type Registry, type RegistryLineage, type RegistryTenant } from './registry.js';
export { linkIdentifiers, type LinkFields } from './links.js';
