import { expect } from "chai";
import { Deferred, succeed } from "../../../lib/internet/deferred.js";
import { ConnectionDone, ConnectionLost } from "../../../lib/internet/error.js";
import { Failure } from "../../../lib/internet/failure.js";
import type { IProtocol, IProtocolFactory, IStreamClientEndpoint } from "../../../lib/internet/interfaces.js";
import { ipAddress } from "../../../lib/internet/address.js";
import { StringTransport } from "../../../lib/internet/string-transport.js";
import { Clock } from "../../../lib/internet/task.js";
import { Request } from "../../../lib/web/client/client-request.js";
import { RequestNotSent, ResponseNeverReceived } from "../../../lib/web/client/errors.js";
import type { HTTP11ClientProtocol } from "../../../lib/web/client/http11-client-protocol.js";
import { HTTPConnectionPool, type PooledConnection } from "../../../lib/web/client/pool.js";
import { readBody } from "../../../lib/web/client/read-body.js";
import { failureResultOf, successResultOf } from "../../support/deferred-helpers.js";
import { hostHeaders, StringProducer } from "./helpers.js";

/** Connects at once to a StringTransport (test_agent.py's DummyEndpoint, with the transport kept). */
class StubEndpoint implements IStreamClientEndpoint {
  readonly connections: Array<{ protocol: HTTP11ClientProtocol; transport: StringTransport }> = [];
  pending: Deferred<IProtocol> | null = null;
  constructor(private readonly immediate = true) {}
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    if (!this.immediate) {
      this.pending = new Deferred<IProtocol>();
      return this.pending;
    }
    const protocol = factory.buildProtocol(ipAddress("127.0.0.1", 80)) as HTTP11ClientProtocol;
    const transport = new StringTransport({ lenient: true });
    protocol.makeConnection(transport);
    this.connections.push({ protocol, transport });
    return succeed<IProtocol>(protocol);
  }
}

const OK = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

function get(persistent = true, method = "GET", body: StringProducer | null = null): Request {
  return new Request(method, "/", hostHeaders(), body, persistent);
}

/** One complete request/response on `connection`: the connection is then back in the pool. */
function roundTrip(connection: PooledConnection, endpoint: StubEndpoint, index: number): void {
  const d = connection.request(get());
  endpoint.connections[index].protocol.dataReceived(OK);
  successResultOf(readBody(successResultOf(d)));
}

describe("HTTPConnectionPool (twisted.web.test.test_agent HTTPConnectionPoolTests)", () => {
  let clock: Clock;
  let pool: HTTPConnectionPool;
  let endpoint: StubEndpoint;
  beforeEach(() => {
    clock = new Clock();
    pool = new HTTPConnectionPool(clock);
    endpoint = new StubEndpoint();
  });

  it("test_getReturnsNewIfCacheEmpty: with nothing cached, a new connection is made", () => {
    const c = successResultOf(pool.getConnection("key", endpoint));
    expect(c.state).to.equal("QUIESCENT");
    expect(endpoint.connections).to.have.length(1);
  });

  it("test_getUsesQuiescentCallback / test_getCachedConnection: a finished connection is reused for the same key", () => {
    const c = successResultOf(pool.getConnection("key", endpoint));
    roundTrip(c, endpoint, 0);
    expect(pool.idleConnections).to.equal(1);
    const again = successResultOf(pool.getConnection("key", endpoint));
    expect(endpoint.connections).to.have.length(1);
    roundTrip(again, endpoint, 0);
    successResultOf(pool.getConnection("other", endpoint));
    expect(endpoint.connections).to.have.length(2);
  });

  it("test_putStartsTimeout: an idle connection is closed after cachedConnectionTimeout (240 s)", () => {
    const c = successResultOf(pool.getConnection("key", endpoint));
    roundTrip(c, endpoint, 0);
    clock.advance(239);
    expect(endpoint.connections[0].transport.disconnecting).to.equal(false);
    clock.advance(1);
    expect(endpoint.connections[0].transport.disconnecting).to.equal(true);
    expect(pool.idleConnections).to.equal(0);
  });

  it("test_putExceedsMaxPersistent / test_maxPersistentPerHost: beyond maxPersistentPerHost the oldest idle one is closed", () => {
    pool.maxPersistentPerHost = 2;
    const cs = [0, 1, 2].map(() => successResultOf(pool.getConnection("key", endpoint)));
    cs.forEach((c, i) => roundTrip(c, endpoint, i));
    expect(pool.idleConnections).to.equal(2);
    expect(endpoint.connections.map((c) => c.transport.disconnecting)).to.deep.equal([true, false, false]);
    expect(clock.getDelayedCalls()).to.have.length(2);
  });

  it("test_getSkipsDisconnected: a cached connection the server closed is skipped", () => {
    const c = successResultOf(pool.getConnection("key", endpoint));
    roundTrip(c, endpoint, 0);
    endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
    successResultOf(pool.getConnection("key", endpoint));
    expect(endpoint.connections).to.have.length(2);
  });

  it("test_putNotQuiescent: a connection abandoned mid-response is never put back", () => {
    const c = successResultOf(pool.getConnection("key", endpoint));
    const d = c.request(get());
    endpoint.connections[0].protocol.dataReceived(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    const body = readBody(successResultOf(d));
    body.cancel();
    expect(endpoint.connections[0].transport.disconnected).to.equal(true);
    failureResultOf(body);
    expect(pool.idleConnections).to.equal(0);
  });

  it("test_closeCachedConnections: idle connections are aborted and their timeouts cancelled", () => {
    const c = successResultOf(pool.getConnection("key", endpoint));
    roundTrip(c, endpoint, 0);
    const d = pool.closeCachedConnections();
    expect(endpoint.connections[0].transport.disconnected).to.equal(true);
    expect(clock.getDelayedCalls()).to.have.length(0);
    endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionLost()));
    successResultOf(d);
    expect(pool.idleConnections).to.equal(0);
  });

  it("test_cancelGetConnectionCancelsEndpointConnect: cancelling getConnection cancels the connection attempt", () => {
    const slow = new StubEndpoint(false);
    const d = pool.getConnection("key", slow);
    d.cancel();
    expect(slow.pending!.called).to.equal(true);
    failureResultOf(d);
  });

  it("a non-persistent pool closes each connection after its response", () => {
    const once = new HTTPConnectionPool(clock, false);
    const c = successResultOf(once.getConnection("key", endpoint));
    const d = c.request(get(false));
    endpoint.connections[0].protocol.dataReceived(OK);
    successResultOf(d);
    expect(endpoint.connections[0].transport.disconnecting).to.equal(true);
    expect(once.idleConnections).to.equal(0);
  });

  describe("HTTPConnectionPoolRetryTests", () => {
    function cachedConnection(): PooledConnection {
      const first = successResultOf(pool.getConnection("key", endpoint));
      roundTrip(first, endpoint, 0);
      return successResultOf(pool.getConnection("key", endpoint));
    }

    it("test_retryWithNewConnection / test_wrappedOnPersistentReturned: a GET on a cached connection the server closed is retried once on a new one", () => {
      const cached = cachedConnection();
      endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
      const d = cached.request(get());
      expect(endpoint.connections).to.have.length(2);
      endpoint.connections[1].protocol.dataReceived(OK);
      expect(successResultOf(d).code).to.equal(200);
    });

    it("test_retryIfFailedDueToNonCancelException: lost before any response: retried", () => {
      const cached = cachedConnection();
      const d = cached.request(get());
      endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
      expect(endpoint.connections).to.have.length(2);
      endpoint.connections[1].protocol.dataReceived(OK);
      successResultOf(d);
    });

    it("test_onlyRetryIdempotentMethods: a POST is not retried", () => {
      const cached = cachedConnection();
      endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
      failureResultOf(cached.request(get(true, "POST")), RequestNotSent);
      expect(endpoint.connections).to.have.length(1);
    });

    it("test_onlyRetryWithoutBody: a request with a body is not retried", () => {
      const cached = cachedConnection();
      endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
      failureResultOf(cached.request(get(true, "GET", new StringProducer(0))), RequestNotSent);
    });

    it("test_dontRetryIfFailedDueToCancel: a cancelled request is not retried", () => {
      const cached = cachedConnection();
      const d = cached.request(get());
      d.cancel();
      failureResultOf(d, ResponseNeverReceived);
      expect(endpoint.connections).to.have.length(1);
    });

    it("test_onlyRetryIfNoResponseReceived: once part of a response arrived, no retry", () => {
      const cached = cachedConnection();
      const d = cached.request(get());
      endpoint.connections[0].protocol.dataReceived(Buffer.from("HTTP/1.1 200"));
      endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
      failureResultOf(d);
      expect(endpoint.connections).to.have.length(1);
    });

    it("test_onlyRetryOnce: the retry failing too is the request's failure", () => {
      const cached = cachedConnection();
      const d = cached.request(get());
      endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
      endpoint.connections[1].protocol.connectionLost(new Failure(new ConnectionDone()));
      failureResultOf(d, ResponseNeverReceived);
      expect(endpoint.connections).to.have.length(2);
    });

    it("test_dontRetryIfRetryAutomaticallyFalse: retryAutomatically = false gives the bare connection", () => {
      pool.retryAutomatically = false;
      const cached = cachedConnection();
      endpoint.connections[0].protocol.connectionLost(new Failure(new ConnectionDone()));
      failureResultOf(cached.request(get()), RequestNotSent);
      expect(endpoint.connections).to.have.length(1);
    });
  });
});
