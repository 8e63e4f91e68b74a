/**
 * readBody, as twisted.web.client.readBody: the whole body of a response, as one Buffer.
 * Cancelling the Deferred aborts the connection (the pool never reuses it).
 */

import { Deferred } from "../../internet/deferred.js";
import { Failure } from "../../internet/failure.js";
import type { Bytes, IProtocol, ITransport } from "../../internet/interfaces.js";
import { PartialDownloadError, PotentialDataLoss, ResponseDone } from "./errors.js";
import type { IResponse } from "./iclient.js";

/** Collects the body (Twisted's _ReadBodyProtocol). */
class ReadBodyProtocol implements IProtocol {
  transport: (ITransport & { abortConnection?: () => void }) | null = null;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly status: number,
    private readonly message: string,
    private readonly deferred: Deferred<Buffer>,
  ) {}

  makeConnection(transport: ITransport): void {
    this.transport = transport;
    this.connectionMade();
  }

  connectionMade(): void {}

  dataReceived(data: Bytes): void {
    if (!this.deferred.called) this.chunks.push(data as Buffer);
  }

  connectionLost(reason: Failure): void {
    if (this.deferred.called) return;
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    if (reason.check(ResponseDone)) this.deferred.callback(body);
    else if (reason.check(PotentialDataLoss)) this.deferred.errback(new Failure(new PartialDownloadError(this.status, this.message, body)));
    else this.deferred.errback(reason);
  }
}

/**
 * The body of `response` once it has all arrived. Fails with the body's error (ResponseFailed),
 * or PartialDownloadError (its `response` is the body) when the body had no length and may be
 * incomplete (PotentialDataLoss), as Twisted's.
 */
export function readBody(response: IResponse): Deferred<Buffer> {
  let protocol: ReadBodyProtocol | null = null;
  const d = new Deferred<Buffer>(() => {
    // Twisted's readBody cancel: abort the connection, so nothing more is read or reused
    protocol?.transport?.abortConnection?.();
  });
  protocol = new ReadBodyProtocol(response.code, response.phrase, d);
  response.deliverBody(protocol);
  return d;
}
