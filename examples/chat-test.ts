/**
 * Testing the chat server of chat-server.ts with no socket and no waiting: a StringTransport
 * for one connection, iosim for clients talking through the server, a Clock for the idle timeout.
 *
 *     node build/examples/chat-test.js     (prints one "ok" line per check and exits)
 *
 * Real tests live in spec/ and use mocha; this program shows the same tools with node:assert.
 */
import assert from "node:assert/strict";
import { Clock, LineReceiver, StringTransport, type Bytes } from "torsion";
import { connectedServerAndClient } from "torsion/internet/iosim";
import { ChatFactory } from "./chat-server.js";

// 1. One connection on a StringTransport: feed bytes in, read bytes out.
{
  const factory = new ChatFactory(new Clock(), 60);
  const proto = factory.buildProtocol({ type: "TCP", family: "IPv4", host: "127.0.0.1", port: 1 });
  const transport = new StringTransport();
  proto.makeConnection(transport);
  assert.equal(transport.value().toString(), "What's your name?\r\n");

  transport.clear();
  proto.dataReceived(Buffer.from("alice\r\n"));
  assert.equal(transport.value().toString(), "Welcome, alice!\r\n");
  console.log("ok - StringTransport: the server greets and welcomes a client");
}

// 2. Two clients and the server, through iosim: each pump moves the bytes both ways.
{
  class Client extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: Buffer): void {
      this.lines.push(line.toString());
    }
    say(text: string): void {
      this.sendLine(Buffer.from(text));
    }
  }
  const factory = new ChatFactory(new Clock(), 60);
  const [alice, , alicePump] = connectedServerAndClient(factory, Client);
  const [bob, , bobPump] = connectedServerAndClient(factory, Client);
  alice.say("alice");
  bob.say("bob");
  alicePump.flush();
  bobPump.flush();

  alice.say("hello bob");
  alicePump.flush(); // alice's line reaches the server, which writes to bob's connection
  bobPump.flush(); // and this delivers it to bob
  assert.deepEqual(bob.lines, ["What's your name?", "Welcome, bob!", "<alice> hello bob"]);
  assert.deepEqual(alice.lines, ["What's your name?", "Welcome, alice!"]);
  console.log("ok - iosim: a line from alice reaches bob, and not alice");
}

// 3. The idle timeout, with a Clock: advance() moves time; nothing sleeps.
{
  const clock = new Clock();
  const factory = new ChatFactory(clock, 60);
  const proto = factory.buildProtocol({ type: "TCP", family: "IPv4", host: "127.0.0.1", port: 1 });
  const transport = new StringTransport();
  proto.makeConnection(transport);

  clock.advance(59);
  proto.dataReceived(Buffer.from("carol\r\n") as Bytes); // activity restarts the 60 s
  clock.advance(59);
  assert.equal(transport.disconnecting, false);
  clock.advance(1);
  assert.equal(transport.disconnecting, true);
  assert.match(transport.value().toString(), /Idle for too long, bye\.\r\n$/);
  console.log("ok - Clock: a client silent for 60 seconds is disconnected");
}
