export { classify3A090, defineAccelerator, type Accelerator, type AcceleratorSpec, type Class3A090 } from './accelerator.js';
export { accelerators, findAccelerator, peakPrecision, densePeakFlops } from './catalog.js';
export { isCountryCode, countryName, allCountryCodes } from './countries.js';
