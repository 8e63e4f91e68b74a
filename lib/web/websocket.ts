/**
 * WebSocket for torsion, as twisted.web.websocket: WebSocketResource on a Site, the
 * WebSocketTransport its protocols talk to, and WebSocketClientEndpoint. Import from here
 * (`torsion/web/websocket`); the pieces live one concept a file in ./websocket/.
 */

export { WebSocketResource, type IWebSocketServerFactory, type WebSocketResourceOptions, type WebSocketStatistics } from "./websocket/resource.js";
export { WebSocketTransport, type ByteTransport, type IWebSocketProtocol, type WebSocketOptions } from "./websocket/transport.js";
export { ConnectionRejected, WebSocketClientEndpoint, type IWebSocketClientFactory, type WebSocketClientOptions } from "./websocket/client.js";
export { CloseCode, Opcode, isValidCloseCode } from "./websocket/frames.js";
export type { DeflateOptions } from "./websocket/permessage-deflate.js";
