import { z } from 'zod';

export const mailSchema = z
  .object({
    from: z.string().default('Porta <porta@localhost>').describe('Sender of every mail Porta sends.'),
    smtpUrl: z
      .string()
      .regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://')
      .optional()
      .describe('SMTP server, e.g. `smtp://user:pass@mail.example:587`. Without it mail goes to the outbox that platform admins read.'),
  })
  .strict()
  .default({ from: 'Porta <porta@localhost>' });
