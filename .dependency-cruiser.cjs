// The architecture check (docs/design.md, "Which way imports go"), run by `npm test` before the
// specs and by `npm run check:architecture`. dependency-cruiser reads the TypeScript sources
// with tsPreCompilationDeps, so it sees `import type` too and can tell a type-only import
// (erased by the compiler, allowed in both directions) from a value import.

/**
 * Known violations: each one a change under way is removing, named with its owner. A known
 * violation is not reported; one whose modules change shape is reported again, and one that is
 * gone is simply unused (delete its line). Keep this list short.
 */
const known = [
  {
    rule: "no-value-cycle",
    cycle: ["lib/internet/reactor.ts", "lib/internet/threads.ts"],
    owner: "reactor helper (issue 13: the global reactor's home module)",
  },
  {
    rule: "no-value-cycle",
    cycle: ["lib/internet/endpoint-descriptions.ts", "lib/internet/endpoints.ts"],
    owner: "lead (endpoints.ts re-exports the description parser, which builds endpoints.ts's classes)",
  },
];

/** In dependency-cruiser's baseline form: a cycle matches whatever module it is reported from. */
const knownViolations = known.map(({ rule, cycle }) => ({
  type: "cycle",
  from: cycle[0],
  to: cycle[1],
  rule: { name: rule, severity: "error" },
  cycle: cycle.map((name) => ({ name, dependencyTypes: [] })),
}));

const layer = (name) => `^lib/${name}/`;
const typeOnly = ["type-only"];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "internet-imports-only-internet",
      comment: "lib/internet is the core: it imports nothing from protocols, application, web or cli.",
      severity: "error",
      from: { path: layer("internet") },
      to: { path: "^lib/(protocols|application|web|cli)/" },
    },
    {
      name: "protocols-import-only-internet",
      comment: "lib/protocols sits on the core only (web -> protocols -> internet).",
      severity: "error",
      from: { path: layer("protocols") },
      to: { path: "^lib/(application|web|cli)/" },
    },
    {
      name: "application-imports-only-internet",
      comment: "lib/application (services) uses lib/internet only; it knows nothing of protocols or HTTP.",
      severity: "error",
      from: { path: layer("application") },
      to: { path: "^lib/(protocols|web|cli)/" },
    },
    {
      name: "web-imports-no-application-or-cli",
      comment: "lib/web sits below lib/application's users and lib/cli; it never imports them.",
      severity: "error",
      from: { path: layer("web") },
      to: { path: "^lib/(application|cli)/" },
    },
    {
      name: "nothing-imports-cli",
      comment: "lib/cli is the top: the `torsion` command. Library code never imports it.",
      severity: "error",
      from: { path: "^lib/", pathNot: ["^lib/cli/", "^lib/index[.]ts$"] },
      to: { path: layer("cli") },
    },
    {
      name: "resources-do-not-import-the-site",
      comment:
        "A resource is written against IRequest (lib/web/iweb.ts), not the Site that serves it: NOT_DONE_YET " +
        "lives in iweb.ts and the path codecs in path-segments.ts, so no lib/web module needs server.ts.",
      severity: "error",
      from: { path: layer("web"), pathNot: "^lib/web/server[.]ts$" },
      to: { path: "^lib/web/server[.]ts$" },
    },
    {
      name: "contracts-import-only-types",
      comment:
        "The contracts (lib/internet/interfaces.ts, lib/web/iweb.ts) stand alone: they may name types " +
        "from elsewhere (import type) but load no module.",
      severity: "error",
      from: { path: "^lib/(internet/interfaces|web/iweb)[.]ts$" },
      to: { dependencyTypesNot: typeOnly, preCompilationOnly: false },
    },
    {
      name: "no-value-cycle",
      comment:
        "No value import cycle in lib/: a cycle makes module start-up order matter. Type-only imports " +
        "(import type) are erased by the compiler and may go both ways; a lazy import() runs after " +
        "start-up, so a cycle it closes does not count (protocol.ts's default clock, the CLI's workers).",
      severity: "error",
      from: { path: "^lib/" },
      to: {
        circular: true,
        viaOnly: { dependencyTypesNot: [...typeOnly, "dynamic-import"] },
      },
    },
  ],
  options: {
    includeOnly: "^lib/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      extensions: [".ts", ".js"],
      conditionNames: ["import", "node", "default"],
    },
    knownViolations,
  },
};
