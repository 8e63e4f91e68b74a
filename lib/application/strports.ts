/**
 * twisted.application.strports: a service from an endpoint description string.
 *
 *     strports.service("tcp:8080:interface=127.0.0.1", site).setServiceParent(app);
 */

import { serverFromString, type EndpointReactor } from "../internet/endpoint-descriptions.js";
import type { IProtocolFactory } from "../internet/interfaces.js";
import { getReactor } from "../internet/reactor.js";
import { StreamServerEndpointService } from "./internet.js";

/**
 * A StreamServerEndpointService listening on the endpoint `description` names (serverFromString's
 * syntax: tcp:PORT, unix:PATH, ssl:PORT:certKey=...:privateKey=...). The description is checked
 * now: a bad one throws at once, before anything starts; so does (from the start call) a listen
 * that fails at once, as with Twisted's raiseSynchronously.
 */
export function service(description: string, factory: IProtocolFactory, reactor?: EndpointReactor): StreamServerEndpointService {
  const endpoint = serverFromString(reactor ?? getReactor(), description);
  const svc = new StreamServerEndpointService(endpoint, factory);
  // As Twisted's strports.service: a port that cannot be bound at once throws from the start.
  svc.raiseSynchronously = true;
  return svc;
}
