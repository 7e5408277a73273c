import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { SMTPServer } from 'smtp-server';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { AppError } from '../../kernel/errors.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { AuditLog } from '../../directory/audit.ts';
import { createMailer, OutboxMailer, SmtpMailer } from '../../directory/mail/index.ts';
import { AccountFlows } from '../../directory/accounts/account-flows.ts';
import { linksFor } from '../../directory/accounts/links.ts';
import { freePort } from '../helpers/ports.ts';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

describe('mail through a real SMTP server', () => {
  let server: SMTPServer;
  let port: number;
  let stores: Stores;
  const received: Received[] = [];

  beforeAll(async () => {
    port = await freePort();
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        let raw = '';
        stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
        stream.on('end', () => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stores.close();
  });

  // Quoted-printable soft line breaks split long links; undo them before looking for the token.
  const unfold = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const tokenIn = (raw: string) => unfold(raw).match(/\?token=([A-Za-z0-9_-]+)/)?.[1];

  it('picks SMTP when mail.smtpUrl is set and the outbox otherwise', () => {
    expect(createMailer({ from: 'a@b.c', smtpUrl: `smtp://127.0.0.1:${port}` }, stores)).toBeInstanceOf(SmtpMailer);
    expect(createMailer({ from: 'a@b.c' }, stores)).toBeInstanceOf(OutboxMailer);
  });

  it('delivers verification and reset mails whose links work', async () => {
    const mailer = createMailer({ from: 'Porta <porta@example.coop>', smtpUrl: `smtp://127.0.0.1:${port}` }, stores);
    const directory = new EmbeddedDirectory({ documents: stores.documents });
    const flows = new AccountFlows({
      directory,
      kv: stores.kv,
      documents: stores.documents,
      mailer,
      audit: new AuditLog(stores.ledger),
      links: linksFor('https://id.example.coop'),
      registration: 'open',
      ttl: { verificationTtlSeconds: 3600, resetTtlSeconds: 600, invitationTtlSeconds: 3600 },
    });
    const account = await flows.register({ username: 'smtpuser', email: 'smtpuser@example.org', name: 'Smtp User', password: 'correct horse battery' });
    const verification = received.find((m) => m.to.includes('smtpuser@example.org') && /Confirm your email/.test(m.raw));
    expect(verification?.from).toBe('porta@example.coop');
    const token = tokenIn(verification!.raw);
    expect(token).toBeDefined();
    expect((await flows.verifyEmail(token!)).id).toBe(account.id);

    await flows.requestPasswordReset('smtpuser');
    const reset = received.find((m) => m.to.includes('smtpuser@example.org') && /Reset your password/.test(m.raw));
    await flows.resetPassword(tokenIn(reset!.raw)!, 'another long password');
    expect((await directory.authenticate('smtpuser', 'another long password'))?.id).toBe(account.id);
    // Nothing went to the outbox.
    expect((await new OutboxMailer({ documents: stores.documents, from: 'x' }).list()).total).toBe(0);
    await mailer.close();
  });

  it('reports an unreachable SMTP server as 503 mail_unavailable', async () => {
    const mailer = new SmtpMailer({ url: `smtp://127.0.0.1:${await freePort()}?connectionTimeout=1000`, from: 'porta@example.coop' });
    const error = await mailer.send({ to: 'x@example.org', subject: 's', text: 't' }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(503);
    expect((error as AppError).code).toBe('mail_unavailable');
  });
});
