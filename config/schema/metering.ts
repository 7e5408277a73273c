import { z } from 'zod';

export const meteringSchema = z
  .object({
    flushIntervalMs: z.number().int().positive().default(100).describe('Usage records are written at least this often.'),
    flushBatchSize: z.number().int().positive().default(500).describe('… or as soon as this many wait.'),
    bufferLimit: z.number().int().positive().default(50000).describe('Records held in memory at most; past it they go to the journal.'),
    journalPath: z.string().default('./data/usage-journal').describe('Local journal for records the store could not take; replayed when it is back.'),
    retentionDays: z.number().int().positive().default(400).describe('Raw usage records older than this are deleted; daily and monthly aggregates are kept.'),
  })
  .strict()
  .default({ flushIntervalMs: 100, flushBatchSize: 500, bufferLimit: 50000, journalPath: './data/usage-journal', retentionDays: 400 });
