import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths never written to a log, whatever a caller passes in. */
const REDACT = [
  'password', '*.password', 'secret', '*.secret', '*.clientSecret', 'token', '*.token',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie', '*.access_token', '*.refresh_token', '*.id_token',
];

export function createLogger(options: { level?: string; name?: string; pretty?: boolean } = {}): Logger {
  return pino({
    name: options.name ?? 'porta',
    level: options.level ?? process.env.PORTA_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that writes nothing; for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
