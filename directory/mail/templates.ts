/** The text of the mails Porta sends. Plain text: it reads everywhere and carries no tracking. */
import type { MailMessage } from './mailer.ts';

export function verificationMail(to: string, name: string, link: string): MailMessage {
  return {
    to,
    subject: 'Confirm your email address',
    text: `Hello ${name},\n\nplease confirm your email address by opening this link:\n\n${link}\n\nIf you did not create an account, ignore this mail.\n`,
  };
}

export function passwordResetMail(to: string, name: string, link: string): MailMessage {
  return {
    to,
    subject: 'Reset your password',
    text: `Hello ${name},\n\nsomeone (hopefully you) asked to reset your password. Choose a new one here:\n\n${link}\n\nThe link works once and expires soon. If you did not ask for this, ignore this mail; your password stays as it is.\n`,
  };
}

export function invitationMail(to: string, collectiveName: string, link: string): MailMessage {
  return {
    to,
    subject: `You are invited to join ${collectiveName}`,
    text: `Hello,\n\nyou are invited to join ${collectiveName}. Accept the invitation here:\n\n${link}\n\nThe link works once and expires. If you do not know ${collectiveName}, ignore this mail.\n`,
  };
}
