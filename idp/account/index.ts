/** The IdP's account pages: registration, email verification, password reset, invitations. */
export { accountPagesRouter, safeReturn, type AccountPagesDeps } from './router.ts';
export { createAccountThrottle, AccountThrottledError, DEFAULT_ACCOUNT_LIMITS, type AccountLimits, type AccountThrottle } from './throttle.ts';
export { CSRF_COOKIE } from './csrf.ts';
