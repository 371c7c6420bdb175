import countries from 'i18n-iso-countries';

/** True when `code` is an assigned ISO 3166-1 alpha-2 code, in uppercase. */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && Object.hasOwn(countries.getAlpha2Codes(), code);
}

/** English short name of a country (`DE` → `Germany`), or undefined for an unassigned code. */
export function countryName(code: string): string | undefined {
  return isCountryCode(code) ? countries.getName(code, 'en', { select: 'official' }) : undefined;
}

/** Every assigned ISO 3166-1 alpha-2 code, sorted. */
export function allCountryCodes(): string[] {
  return Object.keys(countries.getAlpha2Codes()).sort();
}
