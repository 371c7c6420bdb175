import { describe, expect, it } from 'vitest';
import { allCountryCodes, countryName, isCountryCode } from '../src/index.js';

describe('countries', () => {
  it.each([
    ['US', true],
    ['TW', true],
    ['MO', true],
    ['us', false],
    ['XX', false],
    ['USA', false],
    ['', false],
  ])('says %j is a country code: %s', (code, expected) => {
    expect(isCountryCode(code)).toBe(expected);
  });

  it('names countries in English', () => {
    expect(countryName('DE')).toBe('Germany');
    expect(countryName('XX')).toBeUndefined();
  });

  it('lists the ISO 3166-1 alpha-2 codes', () => {
    const codes = allCountryCodes();
    expect(codes.length).toBeGreaterThanOrEqual(249);
    expect(codes).toContain('KP');
    expect(codes.every(isCountryCode)).toBe(true);
  });
});
