/**
 * A Site's Request that remembers itself, for specs that drive a Site through a channel and
 * then look at the request it built: every one made (`made`), the last one processed (`last`),
 * and prePathURL() as it was when the resource rendered (`urlAtRender`). `hostOverride` plays
 * a proxy's setHost() before processing. Call `RecordingRequest.reset()` between specs.
 */
import type { HTTPChannel } from "../../lib/web/http-channel.js";
import type { IResource } from "../../lib/web/iweb.js";
import { Request } from "../../lib/web/server.js";

export class RecordingRequest extends Request {
  /** Every request made, in order. */
  static made: RecordingRequest[] = [];
  /** The request processed last. */
  static last: RecordingRequest | null = null;
  /** setHost() arguments applied to each request before it is processed, or null. */
  static hostOverride: [string, number, boolean] | null = null;

  /** prePathURL() as it was when the resource was rendered. */
  urlAtRender: string | null = null;

  static reset(): void {
    RecordingRequest.made = [];
    RecordingRequest.last = null;
    RecordingRequest.hostOverride = null;
  }

  constructor(channel: HTTPChannel) {
    super(channel);
    RecordingRequest.made.push(this);
  }

  override render(resrc: IResource): void {
    this.urlAtRender = this.prePathURL();
    super.render(resrc);
  }

  override process(): void {
    RecordingRequest.last = this;
    if (RecordingRequest.hostOverride !== null) this.setHost(...RecordingRequest.hostOverride);
    super.process();
  }
}
