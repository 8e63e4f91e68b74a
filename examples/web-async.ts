/**
 * An asynchronous response: render_GET returns NOT_DONE_YET and finishes the request when a
 * Deferred fires (here, a second later with callLater). If the client goes away first,
 * notifyFinish() errbacks and the pending call is cancelled. Quoted by docs/web-async.md.
 *
 *     node build/examples/web-async.js [port]     (default 8080; Ctrl-C stops it)
 *     curl http://127.0.0.1:8080/
 */
import { Deferred, NOT_DONE_YET, reactor, Resource, Site, type Failure, type IRequest } from "torsion";

class DelayedResource extends Resource {
  override isLeaf = true;

  render_GET(request: IRequest): typeof NOT_DONE_YET {
    const d = new Deferred<string>();
    const call = reactor.callLater(1, () => d.callback("<html><body>Sorry to keep you waiting.</body></html>\n"));

    d.addCallback((page: string) => {
      request.setHeader("content-type", "text/html; charset=utf-8");
      request.write(Buffer.from(page, "utf8"));
      request.finish();
    });

    // The client hung up before the second was over: nobody will read the page, so don't make it.
    request.notifyFinish().addErrback((reason: Failure) => {
      console.log(`client went away: ${reason.getErrorMessage()}`);
      call.cancel();
    });

    return NOT_DONE_YET;
  }
}

const port = Number(process.argv[2] ?? 8080);
const listening = reactor.listenTCP(port, new Site(new DelayedResource()), { interface: "127.0.0.1" });
const stopped = reactor.run();
console.log(`web-async listening on http://127.0.0.1:${listening.getHost().port}/`);
await stopped;
