/**
 * A private FerretDB process for fault tests: its own port and data
 * directory, so it can be paused (SIGSTOP), killed and restarted on the same
 * data without disturbing the shared test server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';

export const FERRETDB_VERSION = 'v1.24.2';

/** Where .ci/ferretdb.sh keeps the binary it builds. */
export function ferretdbBinary(): string {
  return process.env.FERRETDB_BIN || join(homedir(), '.cache', 'open-login', `ferretdb-${FERRETDB_VERSION}`);
}

/** Ports set aside for servers that fault tests start and stop. */
export const FAULT_PORTS = [27052, 27053, 27054, 27055, 27056, 27057, 27058, 27059];

/** Fault ports held by servers of this process (see `PrivateFerretDb.start`). */
const claimedPorts = new Set<number>();

/** Another process listens on the port we tried. */
class PortTaken extends Error {}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PrivateFerretDb {
  readonly dataDir: string;
  #child: ChildProcess | null = null;
  #log: string[] = [];

  private constructor(
    readonly binary: string,
    readonly port: number,
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'ferretdb-fault-'));
  }

  /**
   * Starts a server on the first free fault port. A port stays claimed by
   * this process from before the first await until `destroy()`, so tests
   * that start servers together never pick the same one, nor take one whose
   * server is down between a kill and a restart. A port another process holds
   * makes our server exit at once, and the next port is tried.
   */
  static async start(binary = ferretdbBinary()): Promise<PrivateFerretDb> {
    for (const port of FAULT_PORTS) {
      if (claimedPorts.has(port)) continue;
      claimedPorts.add(port);
      const db = new PrivateFerretDb(binary, port);
      try {
        if (await portFree(port)) {
          await db.start();
          return db;
        }
      } catch (error) {
        if (!(error instanceof PortTaken)) {
          await db.destroy();
          throw error;
        }
      }
      await db.destroy();
    }
    throw new Error(`no free port among ${FAULT_PORTS.join(', ')}`);
  }

  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** (Re)starts the process on the same port and data directory; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.running) throw new Error('already running');
    const child = spawn(
      this.binary,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${this.dataDir}/`,
        `--state-dir=${this.dataDir}`,
        `--listen-addr=127.0.0.1:${this.port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.#log.push(String(chunk));
      if (this.#log.length > 50) this.#log.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.#child = child;
    // Never outlive the test process, whatever way it ends.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (!this.running) throw this.#startFailure();
      if ((await portAccepts(this.port)) && (await this.answers())) {
        // What answered may be another process's server on this port, ours failing to bind it:
        // only a child still running a moment after the answer is the one that answered.
        await sleep(150);
        if (!this.running) throw this.#startFailure();
        return;
      }
      await sleep(50);
    }
    await this.kill();
    throw new Error(`FerretDB did not accept connections on ${this.port} within 15 s`);
  }

  #startFailure(): Error {
    const log = this.#log.join('').slice(-500);
    return /address already in use/i.test(log) ? new PortTaken(`port ${this.port} is taken`) : new Error(`FerretDB exited during start-up: ${log}`);
  }

  /** Whether the server answers a ping (it may accept connections a moment before it can serve them). */
  async answers(timeoutMs = 2000): Promise<boolean> {
    const client = new MongoClient(this.uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
    try {
      await client.db('admin').command({ ping: 1 });
      return true;
    } catch {
      return false;
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  /**
   * SIGSTOP: the socket stays open but nothing answers (a hung or overloaded
   * server). Returns once every thread of the process is stopped: the signal
   * is only queued by kill(2), and a thread already running on another core
   * goes on until the kernel stops it, so a query sent at once could still be
   * answered on a loaded machine.
   */
  pause(): void {
    const child = this.#child;
    if (!child?.pid) return;
    child.kill('SIGSTOP');
    const deadline = Date.now() + 2_000;
    while (!allThreadsStopped(child.pid)) {
      if (Date.now() > deadline) throw new Error(`ferretdb ${child.pid}: not stopped 2 s after SIGSTOP`);
      // A bounded wait for the kernel to act, not a guess at how long it takes.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** SIGKILL, and wait for the process to be gone (a crashed server). */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT'); // a stopped process still dies of SIGKILL, but be plain about it
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the process, removes the data directory and gives the port back. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
    claimedPorts.delete(this.port);
  }
}

/** Whether the binary is there; fault tests skip loudly (or fail in CI) without it. */
export function ferretdbAvailable(binary = ferretdbBinary()): boolean {
  return existsSync(binary);
}

/** Whether every thread of a process is in the stopped state (`T` in /proc/PID/task/TID/stat, Linux). */
function allThreadsStopped(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true; // not Linux, or the process is gone: nothing more to wait for
  }
  return tasks.every((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state === 'T' || state === 't';
    } catch {
      return true; // the thread ended
    }
  });
}
