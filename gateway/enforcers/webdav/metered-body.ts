/**
 * A request body that counts bytes on their way upstream and stops at the quota: used for uploads
 * whose size is not known up front (`Transfer-Encoding: chunked`). Bytes are forwarded only once
 * they are covered by a reservation; more is reserved in blocks as they arrive. When a block no
 * longer fits, the chunk that would overflow is NOT forwarded: the upstream request is destroyed
 * (the upstream sees an aborted upload and keeps nothing, as Nextcloud discards its `.part` file)
 * and `onOverflow` answers the client.
 *
 * The proxy pipes this stream into its upstream request (httpxy's `buffer` option); `pipe` is
 * wrapped to learn that destination, so that the upload can be cut without help from the proxy.
 */
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';

export interface MeteredBodyOptions {
  /** Bytes already reserved for this body. */
  reserved: number;
  /** Reserves `bytes` more; true when granted. */
  reserveMore(bytes: number): Promise<boolean>;
  /** Reservation step for undeclared bodies. */
  blockBytes: number;
  /** Called once when the body went over the quota (after the upstream request was destroyed). */
  onOverflow(counted: number): void;
}

export class MeteredBody extends Transform {
  /** Bytes received from the client. */
  counted = 0;
  /** Bytes forwarded upstream. */
  forwarded = 0;
  reserved: number;
  overflowed = false;
  private destination?: Writable;
  private readonly source: IncomingMessage;
  private readonly options: MeteredBodyOptions;

  constructor(source: IncomingMessage, options: MeteredBodyOptions) {
    super();
    this.options = options;
    this.reserved = options.reserved;
    source.on('aborted', () => this.destroy());
    source.pipe(this);
    const pipe = this.pipe.bind(this);
    this.pipe = <T extends NodeJS.WritableStream>(destination: T, pipeOptions?: { end?: boolean }): T => {
      this.destination = destination as unknown as Writable;
      return pipe(destination, pipeOptions);
    };
    this.source = source;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.overflowed) return callback();
    this.counted += chunk.length;
    if (this.counted <= this.reserved) {
      this.forwarded += chunk.length;
      return callback(null, chunk);
    }
    const need = this.counted - this.reserved;
    const block = Math.max(need, this.options.blockBytes);
    (async () => {
      if (await this.options.reserveMore(block)) return block;
      if (block > need && (await this.options.reserveMore(need))) return need;
      return 0;
    })().then(
      (got) => {
        if (got > 0) {
          this.reserved += got;
          this.forwarded += chunk.length;
          callback(null, chunk);
          return;
        }
        this.overflow();
        callback();
      },
      (error: unknown) => {
        // The store failed: fail closed, the upload is cut.
        this.overflow();
        callback(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  private overflow(): void {
    if (this.overflowed) return;
    this.overflowed = true;
    this.source.unpipe(this);
    this.destination?.destroy(new Error('upload over quota'));
    this.options.onOverflow(this.counted);
    // Keep reading (and discarding) what the client still sends for a moment so it can read the
    // answer, then close the connection.
    this.source.resume();
    const timer = setTimeout(() => this.source.destroy(), 2000);
    timer.unref();
    this.source.once('end', () => clearTimeout(timer));
  }
}
