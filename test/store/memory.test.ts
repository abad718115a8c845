import test from 'ava';
import { silentLogger } from '../../src/log.js';
import { createStore, MemoryStore, MongoStore } from '../../src/store/index.js';
import { captureLogs } from '../helpers/logs.js';
import { storeContract } from './contract.js';

storeContract('memory', async () => {
  const store = new MemoryStore();
  await store.init();
  return { store, cleanup: () => store.close() };
});

test('[memory] init warns that the store is for development only', async (t) => {
  const { logger, raw: lines } = captureLogs();
  const store = new MemoryStore({ logger });
  await store.init();
  t.is(lines.length, 1);
  const line = JSON.parse(lines[0]!) as { level: string; msg: string };
  t.is(line.level, 'warn');
  t.regex(line.msg, /development only/);
  t.regex(line.msg, /lost on restart/);
});

test('createStore picks MongoDB when a URI is given, memory otherwise', async (t) => {
  const memory = createStore({ mongodbUri: null, logger: silentLogger() });
  t.true(memory instanceof MemoryStore);
  t.is(memory.kind, 'memory');

  const mongo = createStore({ mongodbUri: 'mongodb://127.0.0.1:1/from_uri', logger: silentLogger() });
  t.true(mongo instanceof MongoStore);
  t.is(mongo.kind, 'mongodb');
  t.is((mongo as MongoStore).dbName, 'from_uri');
  await mongo.close();

  const named = createStore({ mongodbUri: 'mongodb://127.0.0.1:1/', mongodbDb: 'explicit', logger: silentLogger() });
  t.is((named as MongoStore).dbName, 'explicit');
  await named.close();

  const fallback = createStore({ mongodbUri: 'mongodb://127.0.0.1:1/?appName=x', logger: silentLogger() });
  t.is((fallback as MongoStore).dbName, 'open_login');
  await fallback.close();
});
