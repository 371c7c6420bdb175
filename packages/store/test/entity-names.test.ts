import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nameKey, nameSimilarity } from '../src/entity-names.js';
import { explainLink } from '../src/links.js';

describe('nameKey', () => {
  it('gives one key to the variants of a person name screening tools treat as one', () => {
    const variants = ['Zhang Wei', 'Wei Zhang', 'ZHANG, Wei', 'zhang   wei', 'Zhāng Wěi', '张伟', 'Ｚｈａｎｇ Ｗｅｉ'];
    expect(new Set(variants.map(nameKey))).toEqual(new Set(['wei zhang']));
  });

  it('gives one key to a company name with and without its legal form and punctuation', () => {
    const variants = ['Lionrock Compute Pte. Ltd.', 'Lionrock Compute Pte Ltd', 'LIONROCK COMPUTE', 'Compute, Lionrock (Pte) Ltd', 'Lionrock Compute Limited'];
    expect(new Set(variants.map(nameKey))).toEqual(new Set(['compute lionrock']));
  });

  it('drops a Chinese legal form as a run of syllables, never a lone syllable of a name', () => {
    expect(nameKey('狮岩计算有限公司')).toBe(nameKey('狮岩计算'));
    expect(nameKey('Gong Li')).toBe('gong li');
    expect(nameKey('Si Xian')).toBe('si xian');
  });

  it('keeps different parties apart', () => {
    expect(nameKey('Zhang Wei')).not.toBe(nameKey('Zhang Wen'));
    expect(nameKey('Lionrock Compute Pte Ltd')).not.toBe(nameKey('Lionrock Capital Pte Ltd'));
  });

  it('keeps a name made only of legal forms rather than emptying it', () => {
    expect(nameKey('The Company Ltd')).toBe('company ltd the');
  });

  it('is the same for any order of a name’s tokens and any case (property)', () => {
    const word = fc.stringMatching(/^[a-z]{2,8}$/).filter((w) => !['co', 'sa', 'se', 'ab', 'ag', 'as', 'bv', 'nv', 'kg', 'kk', 'lp', 'oy', 'cv', 'gk', 'of', 'the', 'and', 'inc', 'ltd', 'llc', 'plc', 'pte', 'pty', 'spa', 'srl', 'sas', 'sro', 'doo', 'bhd', 'sdn', 'jsc', 'ooo', 'oao', 'zao', 'kft', 'llp', 'aps', 'asa', 'oyj', 'ltda', 'corp', 'gmbh', 'sarl', 'ojsc', 'pjsc', 'pllc', 'company', 'limited', 'corporation', 'incorporated', 'youxian', 'gongsi', 'gufen'].includes(w));
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 5 }), fc.nat(), (words, seed) => {
      const shuffled = [...words].sort((a, b) => ((a.charCodeAt(0) * 31 + seed) % 7) - ((b.charCodeAt(0) * 31 + seed) % 7));
      expect(nameKey(shuffled.map((w) => w.toUpperCase()).join(', '))).toBe(nameKey(words.join(' ')));
    }));
  });
});

describe('nameSimilarity', () => {
  it('is 1 for variants and the edit-distance ratio of the keys otherwise', () => {
    expect(nameSimilarity('ZHANG, Wei', 'Wei Zhang')).toBe(1);
    // keys "compute lionrock" (16) and "compute lionrok" (15): one deletion.
    expect(nameSimilarity('Lionrock Compute', 'Lionrok Compute')).toBe(Math.round((1 - 1 / 16) * 1000) / 1000);
  });
});

describe('explainLink', () => {
  const options = { maxShared: 3 };
  it('links a shared owner name and says why, with both spellings', () => {
    const { reasons } = explainLink({ beneficialOwners: [{ name: 'ZHANG, Wei', country: 'CN' }] }, { beneficialOwners: [{ name: 'Wei Zhang', country: 'CN' }] }, options);
    expect(reasons).toEqual([{ identifier: 'beneficialOwner:wei zhang', kind: 'beneficialOwner', a: 'ZHANG, Wei', b: 'Wei Zhang', score: 1, why: expect.stringContaining('both declared in CN') }]);
  });

  it('does not link one name declared in two different countries', () => {
    expect(explainLink({ beneficialOwners: [{ name: 'Zhang Wei', country: 'CN' }] }, { beneficialOwners: [{ name: 'Zhang Wei', country: 'SG' }] }, options).reasons).toEqual([]);
  });

  it('links a name declared with a country on one side only, and says so', () => {
    const { reasons } = explainLink({ ultimateParent: { name: 'Lionrock Compute Pte. Ltd.', country: 'SG' } }, { ultimateParent: { name: 'Lionrock Compute Pte Ltd' } }, options);
    expect(reasons.map((r) => [r.identifier, r.why])).toEqual([['ultimateParent:compute lionrock', expect.stringContaining('one side only (SG)')]]);
  });

  it('shows an identifier shared by more tenants than the bound instead of linking through it', () => {
    const counts = new Map([['contactDomains:mail.example', 4], ['paymentFingerprints:card-1', 2]]);
    const a = { identifiers: { contactDomains: ['mail.example'], paymentFingerprints: ['card-1'] } };
    const b = { identifiers: { contactDomains: ['MAIL.example'], paymentFingerprints: ['card-1'] } };
    const result = explainLink(a, b, { maxShared: 3, sharedBy: (l) => counts.get(l) });
    expect(result.reasons.map((r) => r.identifier)).toEqual(['paymentFingerprints:card-1']);
    expect(result.widelyShared).toEqual([{ identifier: 'contactDomains:mail.example', tenants: 4 }]);
  });
});
