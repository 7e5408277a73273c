import { z } from 'zod';

const weight = (what: string, dflt: number) => z.number().min(0).default(dflt).describe(what);

export const weightsSchema = z
  .object({
    requests: weight('Weight of one request.', 1),
    bytesInPerMiB: weight('Weight of one MiB uploaded by clients.', 1),
    bytesOutPerMiB: weight('Weight of one MiB downloaded by clients.', 1),
    storageGiBDays: weight('Weight of one GiB stored for one day.', 10),
    hostMinutes: weight('Weight of one minute of a hosted meeting.', 10),
    participantMinutes: weight('Weight of one participant minute in a meeting.', 1),
  })
  .strict()
  .default({ requests: 1, bytesInPerMiB: 1, bytesOutPerMiB: 1, storageGiBDays: 10, hostMinutes: 10, participantMinutes: 1 })
  .describe('How units of different kinds count when a subscriber\'s fee is split among the services they used. Admins can override them through the admin API.');

export const meteringSchema = z
  .object({
    flushIntervalMs: z.number().int().positive().default(100).describe('Usage records are written at least this often.'),
    flushBatchSize: z.number().int().positive().default(500).describe('… or as soon as this many wait.'),
    bufferLimit: z.number().int().positive().default(50000).describe('Records held in memory at most; past it they wait only in the journal (on disk) until the store takes them.'),
    journalPath: z.string().default('./data/usage-journal').describe('Folder of the local journal (left at its default, it follows `dataDir`): every record is written here (in groups, within 5 ms) and kept until the store holds it, so a store outage loses none and a killed process at most its last 5 ms. Processes may share it (each writes in its own subfolder and replays what dead ones left).'),
    retentionDays: z.number().int().positive().default(400).describe('Raw usage records older than this are deleted; daily and monthly aggregates are kept.'),
    weights: weightsSchema,
  })
  .strict()
  .default({
    flushIntervalMs: 100,
    flushBatchSize: 500,
    bufferLimit: 50000,
    journalPath: './data/usage-journal',
    retentionDays: 400,
    weights: { requests: 1, bytesInPerMiB: 1, bytesOutPerMiB: 1, storageGiBDays: 10, hostMinutes: 10, participantMinutes: 1 },
  });
