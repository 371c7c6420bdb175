export * from './trace/index.js';
export { produceEvents, type ProduceOptions, type ProduceProgress } from './sink.js';
export { simulatorConfigSchema, type SimulatorConfig } from './config.js';
export { apiRegistrar, storeRegistrar, registerAll, RegistrationError, type Registrar } from './registrar.js';
export { runLoad, loadEvents, type LoadOptions } from './load-mode.js';
export { scenarioSchema, durationSchema, type Scenario, type ScenarioJob, type ScenarioTenant, type UtilizationProfile } from './scenario/schema.js';
export { loadScenario, parseScenario, ScenarioError, SCENARIO_DIR } from './scenario/load.js';
export { planScenario, planEvents, plannedJobEvents, utilizationAt, type PlannedJob, type ScenarioPlan } from './scenario/plan.js';
export { runScenarios, type RunScenariosOptions } from './scenario/run.js';
export { readAlerts, alertConcerns } from './alerts-view.js';
export {
  benchPack, buildHonest, buildStrategies, formatDetectionTables, judgeHonest, judgeStrategy, playStrategy, runDetectionBench, coveredTenants, firstActionableSeverity, opsAt,
  CROSSING_OPS, DAY_MS, HOUR_MS, STRATEGY_IDS,
  type BenchInput, type BenchOutput, type HonestResult, type HonestTenant, type PlayedStrategy, type SeenAlert, type Strategy, type StrategyId, type StrategyResult,
} from './detection/bench.js';
