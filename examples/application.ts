/**
 * Services, as Twisted's "Using the Twisted Application Framework" howto: an echo server, a
 * client that the service keeps connected to it, and a timer, in one Application that starts
 * when the reactor runs and stops, as a whole, before it shuts down.
 *
 *     node build/examples/application.js [description]     (default tcp:0:interface=127.0.0.1)
 *
 * It stops itself after three ticks of the timer; Ctrl-C stops it sooner.
 */
import {
  Application,
  backoffPolicy,
  type Bytes,
  ClientService,
  Factory,
  FilteringLogObserver,
  globalLogBeginner,
  Logger,
  LogLevel,
  LogLevelFilterPredicate,
  Protocol,
  reactor,
  startApplication,
  strports,
  TCP4ClientEndpoint,
  textFileLogObserver,
  TimerService,
} from "torsion";

const log = new Logger("example.application");

class Echo extends Protocol {
  override dataReceived(data: Bytes): void {
    this.transport!.write(data);
  }
}

class Pinger extends Protocol {
  override connectionMade(): void {
    this.transport!.write(new TextEncoder().encode("ping"));
  }

  override dataReceived(data: Bytes): void {
    log.info("client: the server echoed {text}", { text: new TextDecoder().decode(data) });
  }
}

// The program chooses where its log goes: the example's own lines and the services' info lines
// ("Scheduling retry ..."), everything else only from warnings up.
const levels = new LogLevelFilterPredicate(LogLevel.warn);
levels.setLogLevelForNamespace("example", LogLevel.info);
levels.setLogLevelForNamespace("torsion.application", LogLevel.info);
globalLogBeginner.beginLoggingTo([new FilteringLogObserver(textFileLogObserver(process.stdout, { timeFormat: null }), [levels])]);

const application = new Application("echo example");

// An endpoint description, as `torsion web --listen` takes: a StreamServerEndpointService.
const server = strports.service(process.argv[2] ?? "tcp:0:interface=127.0.0.1", Factory.forProtocol(Echo), reactor);
server.setServiceParent(application);

let ticks = 0;
const timer = new TimerService(0.2, () => {
  ticks++;
  log.info("timer: tick {ticks}", { ticks });
  if (ticks === 3) reactor.stop();
});
timer.setName("timer");
timer.setServiceParent(application);

// Runs the services at callWhenRunning; stops them in "before shutdown", which waits for them.
startApplication(application, reactor);

// Once the server listens (port 0 picks a port), keep a client connected to it. A child added
// later starts with the Application, or at once if the Application is already running.
server.whenListening().addCallback((port) => {
  const { port: number } = port.getHost() as { port: number };
  log.info("server: listening on port {number}", { number });
  const client = new ClientService(new TCP4ClientEndpoint(reactor, "127.0.0.1", number), Factory.forProtocol(Pinger), {
    retryPolicy: backoffPolicy({ initialDelay: 0.1, maxDelay: 2 }),
    clock: reactor,
  });
  client.setServiceParent(application);
  client.whenConnected().addCallback(() => log.info("client: connected"));
});

await reactor.run();
log.info("all services stopped: {running}", { running: application.running ? "no" : "yes" });
