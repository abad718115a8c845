/** The store port's four parts, each over its MongoDB collection. */
import type DataLoader from 'dataloader';
import type { Collection } from 'mongodb';
import {
  DuplicateKeyError,
  type ApiClient,
  type ClientStore,
  type Customer,
  type CustomerStore,
  type Grant,
  type GrantStore,
  type ReplayStore,
} from '../types.js';
import type { TokenHashUniqueness } from './bootstrap.js';
import {
  clientFromDocument,
  clientToDocument,
  customerFromDocument,
  customerToDocument,
  grantFromDocument,
  grantToDocument,
  isRecord,
  validDate,
  type ClientDocument,
  type CustomerDocument,
  type GrantDocument,
  type ReplayDocument,
} from './documents.js';
import { batchedLookup, lookup, type LookupRunner } from './lookups.js';
import type { Runner } from './runner.js';

export class MongoGrantStore implements GrantStore {
  private readonly byId: DataLoader<string, GrantDocument | null>;
  private readonly byTokenHash: DataLoader<string, GrantDocument | null>;

  constructor(
    private readonly collection: Collection<GrantDocument>,
    private readonly runner: LookupRunner,
    private readonly uniqueness: () => TokenHashUniqueness,
  ) {
    this.byId = batchedLookup(collection, '_id', 'grants.findById', runner);
    this.byTokenHash = batchedLookup(collection, 'token_hash', 'grants.findByTokenHash', runner);
  }

  private read(doc: unknown): Grant | null {
    if (doc === null || doc === undefined) return null;
    const grant = grantFromDocument(doc);
    if (grant === null) {
      const grantId = isRecord(doc) ? String(doc._id) : 'unknown';
      this.runner.logger.warn({ grantId }, 'malformed grant document treated as not found');
    }
    return grant;
  }

  async insert(grant: Grant): Promise<void> {
    const doc = grantToDocument(grant);
    await this.runner.run('grants.insert', async () => {
      if (doc.token_hash !== null && this.uniqueness() === 'app-check') {
        const existing = await this.collection.findOne(
          { token_hash: doc.token_hash },
          { projection: { _id: 1 }, maxTimeMS: this.runner.maxTimeMS },
        );
        if (existing) throw new DuplicateKeyError('grants.insert: duplicate token_hash');
      }
      await this.collection.insertOne(doc, { maxTimeMS: this.runner.maxTimeMS });
    });
  }

  async findById(id: string): Promise<Grant | null> {
    if (typeof id !== 'string') return null;
    return this.read(await lookup(this.byId, this.collection, '_id', 'grants.findById', this.runner, id));
  }

  async findByTokenHash(tokenHash: string): Promise<Grant | null> {
    if (typeof tokenHash !== 'string') return null;
    return this.read(await lookup(this.byTokenHash, this.collection, 'token_hash', 'grants.findByTokenHash', this.runner, tokenHash));
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    if (typeof id !== 'string') return false;
    const result = await this.runner.run('grants.revoke', () =>
      // `revoked_at: null` also matches documents that lack the field.
      this.collection.updateOne(
        { _id: id, revoked_at: null },
        { $set: { revoked_at: at } },
        { maxTimeMS: this.runner.maxTimeMS },
      ),
    );
    return result.modifiedCount === 1;
  }

  async revokeByCustomer(customerId: string, at: Date): Promise<number> {
    if (typeof customerId !== 'string') return 0;
    const result = await this.runner.run('grants.revokeByCustomer', () =>
      this.collection.updateMany(
        { customer_id: customerId, revoked_at: null },
        { $set: { revoked_at: at } },
        { maxTimeMS: this.runner.maxTimeMS },
      ),
    );
    return result.modifiedCount;
  }

  async deleteExpired(before: Date): Promise<number> {
    if (validDate(before) === undefined) return 0;
    const result = await this.runner.run('grants.deleteExpired', () =>
      this.collection.deleteMany({ expires_at: { $lt: before } }, { maxTimeMS: this.runner.maxTimeMS }),
    );
    return result.deletedCount;
  }

  async latestIssuedAt(customerId: string, siteId: string | null, notAfter: Date): Promise<Date | null> {
    if (typeof customerId !== 'string' || (siteId !== null && typeof siteId !== 'string') || validDate(notAfter) === undefined) return null;
    // By the customer_id index (a customer's grants of the retention period); only the date is read.
    // `site_id: null` also matches a document without the field, which reads as no site.
    const doc = await this.runner.run('grants.latestIssuedAt', () =>
      this.collection.findOne(
        { customer_id: customerId, site_id: siteId, issued_at: { $lte: notAfter } },
        { sort: { issued_at: -1 }, projection: { _id: 0, issued_at: 1 }, maxTimeMS: this.runner.maxTimeMS },
      ),
    );
    return validDate(doc?.issued_at) ?? null;
  }
}

export class MongoCustomerStore implements CustomerStore {
  private readonly byId: DataLoader<string, CustomerDocument | null>;

  constructor(
    private readonly collection: Collection<CustomerDocument>,
    private readonly runner: LookupRunner,
  ) {
    this.byId = batchedLookup(collection, '_id', 'customers.findById', runner);
  }

  async upsert(customer: Customer): Promise<void> {
    const { _id, ...fields } = customerToDocument(customer);
    await this.runner.run('customers.upsert', () =>
      // $set rather than a replacement keeps fields another service may have added.
      this.collection.updateOne({ _id }, { $set: fields }, { upsert: true, maxTimeMS: this.runner.maxTimeMS }),
    );
  }

  async findById(id: string): Promise<Customer | null> {
    if (typeof id !== 'string') return null;
    const doc = await lookup(this.byId, this.collection, '_id', 'customers.findById', this.runner, id);
    if (!doc) return null;
    const customer = customerFromDocument(doc);
    if (!customer) this.runner.logger.warn({ customerId: id }, 'malformed customer document treated as not found');
    return customer;
  }
}

export class MongoClientStore implements ClientStore {
  private readonly byId: DataLoader<string, ClientDocument | null>;

  constructor(
    private readonly collection: Collection<ClientDocument>,
    private readonly runner: LookupRunner,
  ) {
    this.byId = batchedLookup(collection, '_id', 'clients.findById', runner);
  }

  private read(doc: unknown): ApiClient | null {
    const client = clientFromDocument(doc);
    if (!client) {
      const clientId = isRecord(doc) ? String(doc._id) : 'unknown';
      this.runner.logger.warn({ clientId }, 'malformed client document ignored');
    }
    return client;
  }

  async insert(client: ApiClient): Promise<void> {
    const doc = clientToDocument(client);
    await this.runner.run('clients.insert', () =>
      this.collection.insertOne(doc, { maxTimeMS: this.runner.maxTimeMS }),
    );
  }

  async findById(id: string): Promise<ApiClient | null> {
    if (typeof id !== 'string') return null;
    const doc = await lookup(this.byId, this.collection, '_id', 'clients.findById', this.runner, id);
    return doc ? this.read(doc) : null;
  }

  async list(): Promise<ApiClient[]> {
    const docs = await this.runner.run('clients.list', () =>
      this.collection.find({}, { maxTimeMS: this.runner.maxTimeMS }).sort({ created_at: 1, _id: 1 }).toArray(),
    );
    return docs.map((doc) => this.read(doc)).filter((client): client is ApiClient => client !== null);
  }
}

export class MongoReplayStore implements ReplayStore {
  constructor(
    private readonly collection: Collection<ReplayDocument>,
    private readonly runner: Runner,
  ) {}

  async use(clientId: string, jti: string, expiresAt: Date, now: Date): Promise<boolean> {
    const _id = JSON.stringify([clientId, jti]);
    try {
      await this.runner.run('replays.use', () =>
        this.collection.insertOne({ _id, client_id: clientId, jti, expires_at: expiresAt }, { maxTimeMS: this.runner.maxTimeMS }),
      );
      return true;
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    // The id is known. It is a replay unless that record has expired and merely
    // awaits deletion (TTL monitor or sweeper); then this use takes it over.
    const result = await this.runner.run('replays.use', () =>
      this.collection.updateOne(
        { _id, expires_at: { $lte: now } },
        { $set: { expires_at: expiresAt } },
        { maxTimeMS: this.runner.maxTimeMS },
      ),
    );
    return result.modifiedCount === 1;
  }

  async deleteExpired(before: Date): Promise<number> {
    if (validDate(before) === undefined) return 0;
    const result = await this.runner.run('replays.deleteExpired', () =>
      this.collection.deleteMany({ expires_at: { $lt: before } }, { maxTimeMS: this.runner.maxTimeMS }),
    );
    return result.deletedCount;
  }
}
