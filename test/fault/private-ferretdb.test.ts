/**
 * The fault suite's own servers: tests that start them at the same moment
 * each get a server of their own. Were two to share one, pausing "its"
 * server would leave the other answering, and a fault test would see a
 * verdict where the store should have been unreachable.
 */
import test from 'ava';
import { ferretdbAvailable, PrivateFerretDb } from '../helpers/ferretdb.js';

const declare = ferretdbAvailable() ? test : test.skip;

declare('servers started together get ports of their own, each served by its own process', async (t) => {
  t.timeout(60_000);
  const dbs = await Promise.all([PrivateFerretDb.start(), PrivateFerretDb.start(), PrivateFerretDb.start()]);
  try {
    t.is(new Set(dbs.map((db) => db.port)).size, dbs.length, `ports ${dbs.map((db) => db.port).join(', ')}`);
    for (const db of dbs) t.true(db.running, `the server on ${db.port} is running`);
    // Pausing one leaves it silent, whatever the others do.
    dbs[0]!.pause();
    t.false(await dbs[0]!.answers(500), 'a paused server does not answer');
    t.true(await dbs[1]!.answers(2000), 'the others still do');
    dbs[0]!.resume();
  } finally {
    await Promise.all(dbs.map((db) => db.destroy()));
  }
});

declare('a server that is down between a kill and a restart keeps its port: another start does not take it', async (t) => {
  t.timeout(60_000);
  const a = await PrivateFerretDb.start();
  let b: PrivateFerretDb | undefined;
  try {
    await a.kill();
    b = await PrivateFerretDb.start();
    t.not(b.port, a.port);
    await a.start();
    t.true(a.running, 'the restart binds its own port again');
    a.pause();
    t.false(await a.answers(500), 'and what answers on it is that server');
    a.resume();
  } finally {
    await a.destroy();
    await b?.destroy();
  }
});
