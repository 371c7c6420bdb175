/** One sample of the Prometheus text exposition format (0.0.4). */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n' };

/**
 * Parses the samples of a text exposition, keeping only metrics in `wanted` (all when omitted).
 * Comments (HELP/TYPE) are skipped; a malformed line is reported through `onBadLine` and skipped, so
 * one bad series never hides the others.
 */
export function parsePromText(text: string, options: { wanted?: ReadonlySet<string>; onBadLine?: (line: string, reason: string) => void } = {}): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const name = NAME.exec(line)?.[0];
    if (!name) {
      options.onBadLine?.(line, 'no metric name');
      continue;
    }
    if (options.wanted && !options.wanted.has(name)) continue;
    try {
      out.push(parseSample(line, name));
    } catch (err) {
      options.onBadLine?.(line, (err as Error).message);
    }
  }
  return out;
}

function parseSample(line: string, name: string): PromSample {
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const labelName = LABEL_NAME.exec(line.slice(i))?.[0];
      if (!labelName) throw new Error(`bad label name at column ${i}`);
      i += labelName.length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" after label ${labelName}`);
      i += 2;
      let value = '';
      for (;;) {
        const ch = line[i];
        if (ch === undefined) throw new Error(`unterminated value of label ${labelName}`);
        i++;
        if (ch === '"') break;
        if (ch === '\\') {
          const next = line[i++] ?? '';
          value += ESCAPES[next] ?? `\\${next}`;
        } else value += ch;
      }
      if (Object.hasOwn(labels, labelName)) throw new Error(`duplicate label ${labelName}`);
      labels[labelName] = value;
    }
  }
  const [valueText] = line.slice(i).trim().split(/\s+/);
  const value = parseValue(valueText ?? '');
  return { name, labels, value };
}

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value "${text}"`);
  return Number(text);
}
