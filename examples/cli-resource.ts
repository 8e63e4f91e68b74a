/**
 * A root resource for the `torsion` command (docs/cli.md): the module names a function that
 * `torsion web --resource` calls with its context, and serves the tree it returns.
 *
 *     node build/lib/cli/main.js web --listen tcp:8080:interface=127.0.0.1 \
 *         --resource ./build/examples/cli-resource.js:root --workers 2
 *     curl http://127.0.0.1:8080/         # which process answered
 *     curl -N http://127.0.0.1:8080/count # a response that streams for 5 s
 */
import { NOT_DONE_YET, Resource, type IRequest, type IResource, type ResourceContext } from "torsion";

class Hello extends Resource {
  override isLeaf = true;

  render_GET(request: IRequest): string {
    request.setHeader("content-type", "text/plain; charset=utf-8");
    return `Hello from process ${process.pid}\n`;
  }
}

/** Counts to 5, a line a second: stop the server meanwhile and the count still finishes. */
class Count extends Resource {
  override isLeaf = true;

  constructor(private readonly context: ResourceContext) {
    super();
  }

  render_GET(request: IRequest): typeof NOT_DONE_YET {
    request.setHeader("content-type", "text/plain; charset=utf-8");
    let n = 0;
    const tick = (): void => {
      request.write(Buffer.from(`${++n}\n`));
      if (n === 5) request.finish();
      else call = this.context.reactor.callLater(1, tick);
    };
    let call = this.context.reactor.callLater(0, tick);
    request.notifyFinish().addErrback(() => call.active() && call.cancel());
    return NOT_DONE_YET;
  }
}

/** What `--resource ./build/examples/cli-resource.js:root` calls. */
export function root(context: ResourceContext): IResource {
  const hello = new Hello();
  const tree = new Resource();
  tree.putChild("", hello);
  tree.putChild("count", new Count(context));
  return tree;
}
