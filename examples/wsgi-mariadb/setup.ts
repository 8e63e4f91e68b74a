/**
 * Create and fill the table the WSGI example streams: 200,000 rows by default, in a fraction of
 * a second with MariaDB's SEQUENCE engine (`seq_1_to_200000`), else with multi-row inserts.
 *
 *     TORSION_MARIADB_SOCKET=/run/mysqld/mysqld.sock node build/examples/wsgi-mariadb/setup.js [rows]
 *
 * The connection settings are app.ts's (TORSION_MARIADB_SOCKET, _USER, _PASSWORD, _DATABASE).
 */

import { pathToFileURL } from "node:url";
import mariadb from "mariadb";
import { TABLE } from "./app.js";

export const DEFAULT_ROWS = 200_000;

export interface SetupOptions {
  /** The server's unix socket (default: TORSION_MARIADB_SOCKET). */
  socketPath?: string;
  /** Default: TORSION_MARIADB_DATABASE or "torsion". */
  database?: string;
  /** Default 200,000. */
  rows?: number;
  /** Fill with the SEQUENCE engine (default: when the server has it), else with multi-row inserts. */
  sequence?: boolean;
}

/** (Re)create the database and the table with `rows` rows; returns the rows counted afterwards. */
export async function setupDatabase(options: SetupOptions = {}): Promise<number> {
  const socketPath = options.socketPath ?? process.env.TORSION_MARIADB_SOCKET;
  const database = options.database ?? process.env.TORSION_MARIADB_DATABASE ?? "torsion";
  const rows = options.rows ?? DEFAULT_ROWS;
  if (!/^\w+$/.test(database)) throw new TypeError(`database name must be a plain identifier, got ${JSON.stringify(database)}`);
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be an integer >= 0, got ${rows}`);
  const conn = await mariadb.createConnection({
    ...(socketPath ? { socketPath } : { host: process.env.TORSION_MARIADB_HOST ?? "127.0.0.1", port: Number(process.env.TORSION_MARIADB_PORT ?? 3306) }),
    user: process.env.TORSION_MARIADB_USER ?? "root",
    password: process.env.TORSION_MARIADB_PASSWORD ?? "",
  });
  try {
    await conn.query(`create database if not exists ${database}`);
    await conn.query(`use ${database}`);
    await conn.query(`drop table if exists ${TABLE}`);
    await conn.query(`create table ${TABLE} (id int primary key, name varchar(40) not null, amount double not null) engine=InnoDB`);
    if (rows > 0) {
      const engines = (await conn.query("select 1 from information_schema.engines where engine = 'SEQUENCE' and support in ('YES', 'DEFAULT')")) as unknown[];
      if ((options.sequence ?? true) && engines.length > 0) {
        await conn.query(`insert into ${TABLE} select seq, concat('row ', seq), seq * 1.5 from seq_1_to_${rows}`);
      } else {
        const step = 5000;
        for (let from = 1; from <= rows; from += step) {
          const to = Math.min(rows, from + step - 1);
          const values: string[] = [];
          for (let i = from; i <= to; i++) values.push(`(${i},'row ${i}',${i * 1.5})`);
          await conn.query(`insert into ${TABLE} values ${values.join(",")}`);
        }
      }
    }
    const [counted] = (await conn.query(`select count(*) as n from ${TABLE}`)) as { n: bigint | number }[];
    return Number(counted!.n);
  } finally {
    await conn.end();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = process.argv[2] ? Number(process.argv[2]) : DEFAULT_ROWS;
  const n = await setupDatabase({ rows });
  console.log(`table ${TABLE} has ${n} rows`);
}
