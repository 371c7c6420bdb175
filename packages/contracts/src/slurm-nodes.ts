// A Slurm job is reported per node (ARCHITECTURE.md, "Several sources for one job"): the node names
// come from Slurm's hostlist expressions, each node's GPUs from `gres_detail` or an even split.

/** More names than any cluster has: a hostlist that expands beyond this is refused, not expanded. */
export const MAX_HOSTLIST_NODES = 100_000;

/**
 * Expands a Slurm hostlist expression (`gpu[01-03,07],cpu5`, `rack[1-2]-n[1-4]`) into node names, in
 * Slurm's order. Zero padding follows the range's first number (`[08-10]` → 08, 09, 10), as Slurm
 * writes it. Undefined when the text is not a hostlist (unbalanced brackets, a reversed range, more
 * than {@link MAX_HOSTLIST_NODES} names): the caller decides what an unreadable node list means.
 */
export function expandHostlist(text: string): string[] | undefined {
  const out: string[] = [];
  for (const item of splitTopLevel(text.trim())) {
    if (item === undefined) return undefined;
    if (item === '') continue;
    const names = expandItem(item, MAX_HOSTLIST_NODES - out.length);
    if (names === undefined) return undefined;
    out.push(...names);
  }
  return out;
}

// Commas inside brackets separate ranges, outside them hosts; undefined marks unbalanced brackets.
function splitTopLevel(text: string): (string | undefined)[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (depth < 0 || depth > 1) return [undefined];
    if (ch === ',' && depth === 0) {
      items.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (depth !== 0) return [undefined];
  items.push(current.trim());
  return items;
}

// One host pattern: literal text and bracketed range lists, expanded as their product.
function expandItem(item: string, budget: number): string[] | undefined {
  let names = [''];
  const parts = item.split(/(\[[^\]]*\])/).filter((p) => p !== '');
  for (const part of parts) {
    if (!part.startsWith('[')) {
      if (/[[\]\s]/.test(part)) return undefined;
      names = names.map((n) => n + part);
      continue;
    }
    const values = expandRanges(part.slice(1, -1), budget);
    if (values === undefined || names.length * values.length > budget) return undefined;
    names = names.flatMap((n) => values.map((v) => n + v));
  }
  return names;
}

function expandRanges(body: string, budget: number): string[] | undefined {
  const out: string[] = [];
  for (const range of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
    if (!m) return undefined;
    const width = m[1]!.length;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || out.length + (hi - lo + 1) > budget) return undefined;
    for (let i = lo; i <= hi; i++) out.push(String(i).padStart(width, '0'));
  }
  return out;
}

const GRES_GPU = /^(?:gres[:/])?gpu(?::[^:(=]+)?[:=](\d+)/;

/**
 * GPUs of one `gres_detail` entry (`gpu:h100:4(IDX:0-3)`, `gpu:a100:2(IDX:0-1),gpu:h100:1(IDX:2)`):
 * the sum of its GPU parts, 0 when it names none.
 */
export function gpusOfGresEntry(entry: string): number {
  let total = 0;
  for (const part of entry.split(/,(?![^(]*\))/)) {
    const m = GRES_GPU.exec(part.trim());
    if (m) total += Number(m[1]);
  }
  return total;
}

/** One node's share of a job: `gpus` in whole thousandths of a GPU, the least a report can carry. */
export interface NodeShare {
  node: string;
  gpus: number;
}

/**
 * Splits `total` GPUs evenly over `nodes` in thousandths: every node gets ⌊total·1000 / n⌋ thousandths
 * and the first (total·1000 mod n) nodes one more, so the parts add up to the total exactly. Nodes
 * whose part is zero (more nodes than thousandths) are left out.
 */
export function splitGpus(total: number, nodes: readonly string[]): NodeShare[] {
  if (nodes.length === 0) return [];
  const units = Math.round(total * 1000);
  const base = Math.floor(units / nodes.length);
  const extra = units - base * nodes.length;
  return nodes
    .map((node, i) => ({ node, gpus: (base + (i < extra ? 1 : 0)) / 1000 }))
    .filter((s) => s.gpus > 0);
}

/**
 * Each node's GPUs: from `gres_detail` when it has one entry per node (Slurm writes them in node
 * order), else `total` split evenly. Undefined when the node list is empty or unreadable.
 */
export function nodeShares(hostlist: string, total: number, gresDetail?: readonly string[]): NodeShare[] | undefined {
  const nodes = expandHostlist(hostlist);
  if (nodes === undefined || nodes.length === 0) return undefined;
  if (gresDetail && gresDetail.length === nodes.length) {
    const perNode = gresDetail.map(gpusOfGresEntry);
    if (perNode.reduce((a, b) => a + b, 0) === total) return nodes.map((node, i) => ({ node, gpus: perNode[i]! })).filter((s) => s.gpus > 0);
  }
  return splitGpus(total, nodes);
}
