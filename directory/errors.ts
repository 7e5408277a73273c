/** Errors the directory raises, shared by both implementations so callers see the same codes. */
import { AppError } from '../kernel/errors.ts';

export const readOnlyDirectory = () =>
  new AppError(409, 'directory_read_only', 'The directory is managed by another system and Porta may not change it; make this change there.');
export const accountNotFound = () => new AppError(404, 'account_not_found', 'No such account.');
export const collectiveNotFound = () => new AppError(404, 'collective_not_found', 'No such collective.');
export const notAMember = () => new AppError(404, 'membership_not_found', 'That account is not a member of this collective.');
export const usernameTaken = () => new AppError(409, 'username_taken', 'That username is already taken.', { fields: { username: 'is already taken' } });
export const emailTaken = () => new AppError(409, 'email_taken', 'That email address already belongs to an account.', { fields: { email: 'is already used by another account' } });
export const collectiveExists = () => new AppError(409, 'collective_exists', 'A collective with that id already exists.', { fields: { id: 'is already taken' } });
export const serviceNotContracted = (services: string[]) =>
  new AppError(400, 'service_not_contracted', `The collective has not contracted: ${services.join(', ')}.`, { fields: { services: `not contracted by the collective: ${services.join(', ')}` } });
export const accountExists = () => new AppError(409, 'account_exists', 'An account with that id already exists.', { fields: { id: 'is already taken' } });
export const passwordHashRefused = (reason: string) => new AppError(400, 'password_hash_refused', `That password hash cannot be kept: ${reason}`, { fields: { passwordHash: reason } });
export const invalidAccountId = (attribute: string) => new AppError(400, 'invalid_account_id', `An account id must be a UUID to be kept as ${attribute}.`, { fields: { id: 'must be a UUID' } });
