// The alert outbox is read through the store (packages/store/src/streams.ts, one module for the
// consumer-group reading of every Redis stream); the notifier sees typed entries.
export type { OutboxEntry, OutboxReader } from '@flopwatch/store';
