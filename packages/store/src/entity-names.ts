import anyAscii from 'any-ascii';
import { distance } from 'fastest-levenshtein';

/**
 * Names compared the way screening tools compare them: transliterated to Latin letters, case and
 * punctuation dropped, legal-form suffixes removed, tokens in any order. "Zhang Wei", "Wei Zhang",
 * "ZHANG, Wei" and "张伟" have one key; so have "Lionrock Compute Pte. Ltd." and "Lionrock Compute Pte Ltd".
 */

/**
 * Legal forms and filler words that say nothing about who a party is (the common forms of the
 * jurisdictions in DOMAIN.md's tier lists, and their transliterations). A name made only of these keeps them.
 */
const LEGAL_FORMS = new Set([
  'ab', 'ag', 'aps', 'as', 'asa', 'bhd', 'bv', 'co', 'company', 'corp', 'corporation', 'cv', 'doo', 'gk', 'gmbh',
  'inc', 'incorporated', 'jsc', 'kft', 'kg', 'kk', 'limited', 'llc', 'llp', 'lp', 'ltd', 'ltda', 'nv', 'oao', 'ojsc',
  'ooo', 'oy', 'oyj', 'pjsc', 'plc', 'pllc', 'pte', 'pty', 'sa', 'sarl', 'sas', 'sdn', 'se', 'spa', 'sro', 'srl', 'zao',
  'the', 'and', 'of', 'youxian', 'gongsi', 'gufen',
]);

/** 有限公司 and 股份有限公司 transliterate a syllable a token; dropped as a run, never as single syllables. */
const CJK_LEGAL_FORMS = / (gu fen )?you xian gong si(?= )/g;

/** CJK, Hangul and kana: one syllable a character, so each becomes a token of its own. */
const SYLLABIC = /[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;

/** Transliterates to ASCII, with a space around each syllabic character ("张伟" → " Zhang  Wei "). */
function transliterate(name: string): string {
  let out = '';
  for (const ch of name.normalize('NFKC')) {
    if (ch.charCodeAt(0) < 0x80) out += ch;
    else if (SYLLABIC.test(ch)) out += ` ${anyAscii(ch)} `;
    else out += anyAscii(ch);
  }
  return out;
}

/** A name's tokens: transliterated, lowercase, punctuation removed, legal forms dropped (unless nothing else is left). */
export function nameTokens(name: string): string[] {
  const all = ` ${transliterate(name).toLowerCase().replace(/['’`]/g, '').split(/[^a-z0-9]+/).join(' ')} `
    .replace(CJK_LEGAL_FORMS, '')
    .split(' ')
    .filter((t) => t.length > 0);
  const kept = all.filter((t) => !LEGAL_FORMS.has(t));
  return kept.length > 0 ? kept : all;
}

/** The key two names share when they name one party: their tokens, sorted, joined by a space. */
export function nameKey(name: string): string {
  return nameTokens(name).sort().join(' ');
}

/**
 * How alike two names are, from 0 to 1: 1 when their keys are equal, else one minus the edit
 * distance between the keys over the longer key's length (token order and legal forms already out).
 */
export function nameSimilarity(a: string, b: string): number {
  const ka = nameKey(a);
  const kb = nameKey(b);
  if (ka === kb) return ka.length > 0 ? 1 : 0;
  const longest = Math.max(ka.length, kb.length);
  return longest === 0 ? 0 : Math.round((1 - distance(ka, kb) / longest) * 1000) / 1000;
}
