import { z } from 'zod';

export const storeSchema = z
  .object({
    kind: z.enum(['embedded', 'redis']).default('embedded').describe('`embedded`: one SQLite file, for a single machine. `redis`: shared state for several machines.'),
    path: z.string().min(1).default('./data/porta.db').describe('Embedded store: the SQLite file (created with its folder if missing). Relative to the working directory; left at the default, the file is `<dataDir>/porta.db`.'),
    url: z
      .string()
      .regex(/^(redis|rediss|redis\+sentinel|redis\+cluster):\/\//, 'must start with redis://, rediss://, redis+sentinel:// or redis+cluster://')
      .optional()
      .describe('Redis store: `redis://[:password@]host:port/db`, `redis+sentinel://host:port,host:port/<master name>` or `redis+cluster://host:port,host:port`.'),
    keyPrefix: z.string().default('porta:').describe('Redis store: prefix of every key, so several deployments can share one Redis.'),
  })
  .strict()
  .superRefine((store, ctx) => {
    if (store.kind === 'redis' && !store.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required when store.kind is redis' });
  })
  .default({ kind: 'embedded', path: './data/porta.db', keyPrefix: 'porta:' });
