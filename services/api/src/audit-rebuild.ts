// Rebuilds the audit export from the audit topic alone (after the loss of Redis, or to check an
// archive against Redis): reads every entry the topic holds, drops repeated sends, orders them by
// seq, checks the chain (hashes, links, gaps, HMACs) and writes them in the API export's format.
import type { Logger } from 'pino';
import type { KafkaClient } from '@flopwatch/kafka';
import { chainHash, createChainChecker, entryMac, toAuditEntry, type AuditKeyring, type BrokenLink, type SealedFields } from '@flopwatch/store';
import { auditTopicReader } from './audit-topic.js';
import { csvField } from './export.js';
import { AUDIT_COLUMNS } from './routes/audit.js';

export interface RebuildOptions {
  kafka: KafkaClient;
  topic: string;
  keyring: AuditKeyring | null;
  format: 'ndjson' | 'csv';
  /** Receives the export, line by line. */
  write(chunk: string): void | Promise<void>;
  log?: Logger;
}

export interface RebuildResult {
  /** The chain holds over every entry the topic has, and no seq has two different entries. */
  ok: boolean;
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Messages that repeated an entry already read (at-least-once publication). */
  duplicates: number;
  /** Seqs the topic holds two different entries for (one produced by someone else). */
  conflicts: number[];
  /** The first link that does not hold (the entries are written all the same). */
  broken: BrokenLink | null;
  keyed: boolean;
  /** Entries without an HMAC accepted: sealed before keys were configured. */
  unkeyed: number;
  /** Whether the topic starts at seq 1; if not, its oldest entries expired and the chain is checked from the first it holds. */
  fromGenesis: boolean;
}

/** Reads the whole topic, checks the chain and writes the export; the result says whether it verifies. */
export async function rebuildAuditExport(opts: RebuildOptions): Promise<RebuildResult> {
  const genuine = (e: SealedFields) => {
    if (chainHash(e.prev, e) !== e.hash) return false;
    const key = opts.keyring?.keys.get(e.kid);
    return !opts.keyring || Boolean(key && entryMac(key, e.kid, e.hash) === e.mac);
  };
  const bySeq = new Map<number, SealedFields>();
  const conflicts = new Set<number>();
  let duplicates = 0;
  await auditTopicReader(opts.kafka, opts.topic, opts.log)({}, (entries) => {
    for (const e of entries) {
      const known = bySeq.get(e.seq);
      if (!known) bySeq.set(e.seq, e);
      else if (known.hash === e.hash && known.mac === e.mac) duplicates++;
      else {
        conflicts.add(e.seq);
        if (genuine(e) && !genuine(known)) bySeq.set(e.seq, e);
      }
    }
  });
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  const fromGenesis = seqs[0] === undefined || seqs[0] === 1;
  const checker = createChainChecker({ keyring: opts.keyring, start: fromGenesis ? { floor: null } : {} });
  let broken: BrokenLink | null = null;
  if (opts.format === 'csv') await opts.write(`${AUDIT_COLUMNS.join(',')}\r\n`);
  for (const seq of seqs) {
    const e = bySeq.get(seq)!;
    if (!broken) {
      const problem = checker.check(e);
      if (problem) broken = { id: e.id, seq, ...problem };
    }
    const row = toAuditEntry(e);
    await opts.write(opts.format === 'csv' ? `${AUDIT_COLUMNS.map((c) => csvField(row[c])).join(',')}\r\n` : `${JSON.stringify(row)}\n`);
  }
  return {
    ok: broken === null && conflicts.size === 0,
    entries: seqs.length,
    firstSeq: seqs[0] ?? null,
    lastSeq: seqs.at(-1) ?? null,
    duplicates,
    conflicts: [...conflicts].sort((a, b) => a - b).slice(0, 100),
    broken,
    keyed: opts.keyring !== null,
    unkeyed: checker.unkeyed(),
    fromGenesis,
  };
}
