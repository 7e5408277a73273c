/**
 * Field validation for the account forms, with messages in the page's language. The directory
 * validates again (its errors name the field in English for the admin API); `fieldErrorsOf` turns
 * those into the same translated messages, so a person always sees the error at the field.
 */
import { AppError } from '../../kernel/errors.ts';
import { PASSWORD_MAX, PASSWORD_MIN, validEmail, validName, validPassword, validUsername } from '../../directory/normalise.ts';
import { translate, type Language } from '../i18n/index.ts';
import type { FieldErrors } from './pages.ts';

type Check = (value: string) => unknown;

const CHECKS: Record<string, Check> = {
  username: validUsername,
  email: validEmail,
  name: (v) => validName(v),
  password: (v) => validPassword(v),
};

/** The translated message for a field the directory refused (`code` tells taken from invalid). */
function message(lang: Language, field: string, code?: string): string {
  const taken = code === 'username_taken' || code === 'email_taken' || code === 'account_exists';
  switch (field) {
    case 'username':
      return translate(lang, taken ? 'account.error.username.taken' : 'account.error.username.invalid');
    case 'email':
      return translate(lang, taken ? 'account.error.email.taken' : 'account.error.email.invalid');
    case 'name':
      return translate(lang, 'account.error.name.invalid');
    case 'password':
    case 'newPassword':
      return translate(lang, 'account.error.password.invalid', { min: PASSWORD_MIN, max: PASSWORD_MAX });
    default:
      return translate(lang, 'account.error.required');
  }
}

/** Checks the named fields of a form; `password2` must repeat `password`. Empty object when all is well. */
export function validateFields(lang: Language, values: Record<string, string>, fields: string[]): FieldErrors {
  const errors: FieldErrors = {};
  for (const name of fields) {
    const value = values[name] ?? '';
    if (name === 'password2') {
      if (value !== (values.password ?? '')) errors.password2 = translate(lang, 'account.error.password.mismatch');
      continue;
    }
    if (value.trim() === '') {
      errors[name] = translate(lang, 'account.error.required');
      continue;
    }
    try {
      CHECKS[name]?.(value);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      errors[name] = message(lang, name);
    }
  }
  return errors;
}

/** Field errors of a refusal from the directory or the flows, or undefined when it is not about fields. */
export function fieldErrorsOf(lang: Language, error: unknown): FieldErrors | undefined {
  if (!(error instanceof AppError) || !error.fields || error.status >= 500) return undefined;
  const errors: FieldErrors = {};
  for (const name of Object.keys(error.fields)) errors[name === 'newPassword' ? 'password' : name] = message(lang, name, error.code);
  return errors;
}
