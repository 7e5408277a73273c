/** Sends mail through an SMTP server with nodemailer (`mail.smtpUrl`). */
import nodemailer, { type Transporter } from 'nodemailer';
import { AppError } from '../../kernel/errors.ts';
import type { Mailer, MailMessage } from './mailer.ts';

export class SmtpMailer implements Mailer {
  readonly kind = 'smtp' as const;
  private readonly transport: Transporter;
  private readonly from: string;

  constructor(options: { url: string; from: string; tls?: { rejectUnauthorized?: boolean } }) {
    this.transport = nodemailer.createTransport(options.url, options.tls ? { tls: options.tls } : undefined);
    this.from = options.from;
  }

  async send(message: MailMessage): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text });
    } catch (error) {
      throw new AppError(503, 'mail_unavailable', 'The mail could not be sent right now; try again in a moment.', { cause: error, detail: String(error) });
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
