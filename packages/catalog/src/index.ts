export { classify3A090, defineAccelerator, type Accelerator, type AcceleratorSpec, type Class3A090 } from './accelerator.js';
export { accelerators, createCatalog, findAccelerator, peakPrecision, densePeakFlops, type Catalog } from './catalog.js';
export { isCountryCode, countryName, allCountryCodes } from './countries.js';
