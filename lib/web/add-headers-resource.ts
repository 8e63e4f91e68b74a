/**
 * A resource that adds headers to every response, then lets the resource it wraps answer
 * (twisted.web.tap's _AddHeadersResource, behind `torsion web --add-header`). Library code, so
 * it lives in lib/web, where any Site can use it, not in the command line's folder.
 */
import type { IRequest, IResource, RenderResult } from "./iweb.js";

/**
 * Adds `headers` (name, value pairs; a repeated name keeps every value, in order) to every
 * response. It stands in for the resource it wraps, so it is a leaf exactly when that is.
 */
export class AddHeadersResource implements IResource {
  private readonly byName = new Map<string, string[]>();

  constructor(
    readonly originalResource: IResource,
    readonly headers: ReadonlyArray<readonly [string, string]>,
  ) {
    for (const [name, value] of headers) {
      const values = this.byName.get(name.toLowerCase());
      if (values === undefined) this.byName.set(name.toLowerCase(), [value]);
      else values.push(value);
    }
  }

  get isLeaf(): boolean {
    return this.originalResource.isLeaf;
  }

  // Set, not added: a HEAD answered by render_GET renders twice, and must not get them twice.
  private addHeaders(request: IRequest): void {
    for (const [name, values] of this.byName) request.responseHeaders.setRawHeaders(name, values);
  }

  getChildWithDefault(name: string, request: IRequest): IResource {
    this.addHeaders(request);
    return this.originalResource.getChildWithDefault(name, request);
  }

  putChild(path: string | Uint8Array, child: IResource): void {
    this.originalResource.putChild(path, child);
  }

  render(request: IRequest): RenderResult {
    this.addHeaders(request);
    return this.originalResource.render(request);
  }
}
