import { z } from 'zod';
import { serverSchema, logSchema } from './server.ts';
import { storeSchema } from './store.ts';
import { directorySchema } from './directory.ts';
import { idpSchema } from './idp.ts';
import { servicesSchema } from './services.ts';
import { gatewaySchema } from './gateway.ts';
import { mailSchema } from './mail.ts';
import { meteringSchema } from './metering.ts';

/** The whole configuration file. One schema per section, each in its own file. */
export const configSchema = z
  .object({
    server: serverSchema,
    log: logSchema,
    store: storeSchema,
    directory: directorySchema,
    idp: idpSchema,
    services: servicesSchema,
    gateway: gatewaySchema,
    mail: mailSchema,
    metering: meteringSchema,
    policiesFile: z.string().default('policies/default.yaml').describe('Plans, rules and limits loaded at first start (later edited through the admin API).'),
    dataDir: z.string().default('./data').describe('Folder for local state: the embedded store, the usage journal.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.services.forEach((service, index) => {
      if (seen.has(service.id)) ctx.addIssue({ code: 'custom', path: ['services', index, 'id'], message: `duplicate service id "${service.id}"` });
      seen.add(service.id);
    });
  });

export type PortaConfig = z.output<typeof configSchema>;
export type ServiceConfig = PortaConfig['services'][number];
export type ClientConfig = PortaConfig['idp']['clients'][number];
