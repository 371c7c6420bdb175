import { describe, expect, it } from 'vitest';
import { assertEndpointUrl, forbiddenAddressReason, parseEndpointUrl, sendWebhook, validateAllowList, type UrlPolicy } from '../src/index.js';

const strict: UrlPolicy = { allowHttp: false, allowList: [] };
const staticResolver = (address: string) => async () => [{ address, family: address.includes(':') ? 6 : 4 }];

describe('endpoint URL policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'linkLocal'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
  ])('refuses %s (%s)', (address, range) => {
    expect(forbiddenAddressReason(address, strict)).toContain(range);
  });

  it('accepts public unicast addresses', () => {
    expect(forbiddenAddressReason('93.184.216.34', strict)).toBeNull();
    expect(forbiddenAddressReason('2606:2800:220:1:248:1893:25c8:1946', strict)).toBeNull();
  });

  it('accepts a forbidden address inside an allow-listed CIDR', () => {
    expect(forbiddenAddressReason('10.1.2.3', { allowHttp: false, allowList: ['10.1.0.0/16'] })).toBeNull();
    expect(forbiddenAddressReason('10.2.0.1', { allowHttp: false, allowList: ['10.1.0.0/16'] })).toContain('private');
    expect(forbiddenAddressReason('::1', { allowHttp: false, allowList: ['127.0.0.0/8'] })).toContain('loopback');
  });

  it('requires https unless http is allowed', () => {
    expect(() => parseEndpointUrl('http://hooks.example.com/x', strict)).toThrow(/must use https/);
    expect(parseEndpointUrl('http://hooks.example.com/x', { ...strict, allowHttp: true }).hostname).toBe('hooks.example.com');
    expect(() => parseEndpointUrl('ftp://hooks.example.com/x', { ...strict, allowHttp: true })).toThrow(/must use https or http/);
    expect(() => parseEndpointUrl('https://u:p@hooks.example.com/', strict)).toThrow(/credentials/);
  });

  it('refuses IP literals and names resolving to private ranges at registration, with a clear error', async () => {
    await expect(assertEndpointUrl('https://127.0.0.1/hook', strict)).rejects.toMatchObject({ code: 'URL_ADDRESS_FORBIDDEN', message: expect.stringContaining('127.0.0.1 is in a loopback range') });
    await expect(assertEndpointUrl('https://169.254.169.254/latest/meta-data', strict)).rejects.toMatchObject({ code: 'URL_ADDRESS_FORBIDDEN' });
    await expect(assertEndpointUrl('https://[::1]/hook', strict)).rejects.toMatchObject({ code: 'URL_ADDRESS_FORBIDDEN' });
    await expect(assertEndpointUrl('https://0x7f.1/hook', strict)).rejects.toMatchObject({ code: 'URL_ADDRESS_FORBIDDEN' });
    await expect(assertEndpointUrl('https://internal.example/hook', strict, staticResolver('10.0.0.5'))).rejects.toThrow(/internal.example resolves to a forbidden address: 10.0.0.5 is in a private range/);
    await expect(assertEndpointUrl('https://internal.example/hook', { allowHttp: false, allowList: ['internal.example'] }, staticResolver('10.0.0.5'))).resolves.toBeInstanceOf(URL);
    await expect(assertEndpointUrl('https://public.example/hook', strict, staticResolver('93.184.216.34'))).resolves.toBeInstanceOf(URL);
  });

  it('validates allow-list entries', () => {
    expect(() => validateAllowList(['10.0.0.0/8', '::1', 'hooks.internal', '*.corp.example'])).not.toThrow();
    expect(() => validateAllowList(['10.0.0.0/99'])).toThrow(/invalid allow-list entry/);
  });

  it('refuses at delivery time a host whose DNS answer changed to a private address (rebinding)', async () => {
    const result = await sendWebhook({
      url: 'https://rebind.example/hook', headers: {}, body: '{}', policy: strict, timeoutMs: 2_000, resolver: staticResolver('127.0.0.1'),
    });
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error?.code).toBe('URL_ADDRESS_FORBIDDEN');
  });

  it('refuses at delivery time an IP literal that is not allow-listed', async () => {
    const result = await sendWebhook({ url: 'http://169.254.169.254/', headers: {}, body: '{}', policy: { allowHttp: true, allowList: [] }, timeoutMs: 2_000 });
    expect(result.error?.code).toBe('URL_ADDRESS_FORBIDDEN');
  });
});
