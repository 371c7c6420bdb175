import { describe, expect, it } from 'vitest';
import { AuditKeyError, MIN_AUDIT_KEY_BYTES, parseAuditKeys } from '../src/index.js';

const hex = (bytes: number, digit = 'a') => `hex:${digit.repeat(bytes * 2)}`;

describe('parseAuditKeys', () => {
  it('reads ids and secrets in each encoding, separated by commas or lines, with comments; the last listed is active unless one is named', () => {
    const text = `k1:${hex(32)}\n# rotated in December\nk2:base64:${Buffer.alloc(40, 7).toString('base64')}, k3:${'x'.repeat(MIN_AUDIT_KEY_BYTES)}`;
    const ring = parseAuditKeys(text)!;
    expect([...ring.keys.keys()]).toEqual(['k1', 'k2', 'k3']);
    expect(ring.keys.get('k1')).toEqual(Buffer.alloc(32, 0xaa));
    expect(ring.keys.get('k2')).toEqual(Buffer.alloc(40, 7));
    expect(ring.keys.get('k3')!.length).toBe(MIN_AUDIT_KEY_BYTES);
    expect(ring.activeId).toBe('k3');
    expect(parseAuditKeys(text, 'k1')!.activeId).toBe('k1');
  });

  it('seals unkeyed when no key is listed', () => {
    expect(parseAuditKeys('')).toBeNull();
    expect(parseAuditKeys('\n# none yet\n')).toBeNull();
  });

  const secretOf = (entry: string) => entry.split(':').at(-1)!;
  it.each([
    [`k1:${hex(31)}`, /k1 has 31 bytes; at least 32/],
    [`k1:${hex(32)},k1:${hex(32, 'b')}`, /k1 is listed twice/],
    [hex(32), /expected <id>:<secret>/],
    [`bad id:${hex(32)}`, /expected <id>:<secret>/],
  ])('refuses %s without quoting its secret', (text, message) => {
    let caught: unknown;
    try {
      parseAuditKeys(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AuditKeyError);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain(secretOf(text));
  });

  it('refuses an active id that is not listed', () => {
    expect(() => parseAuditKeys(`k1:${hex(32)}`, 'k9')).toThrow(/active audit key k9 is not among the keys listed \(k1\)/);
    expect(() => parseAuditKeys('', 'k9')).toThrow(AuditKeyError);
  });
});
