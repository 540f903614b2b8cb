/**
 * The model registry: numbered versions per model with their lineage (the run, data snapshots, config, trainer
 * params, metrics, blessing), movable aliases such as `production` and `canary` (with a traffic weight) and the
 * history of every alias move. Each model is one JSON document updated only through the store's compare-and-set
 * write, re-read and re-applied on conflict, so workers on several processes can share one store. Registration
 * and alias moves take idempotency keys (the run's workflow and activity ids), so a retried activity registers
 * once and promotes once.
 */
import { z } from 'zod';
import { bytesToText, type ArtifactStore } from './artifact-store';
import { AliasConflictError, BadInputError, CorruptRecordError, NotFoundError, StoreConflictError } from './errors';

export const ModelAlias = { production: 'production', canary: 'canary' } as const;
export type ModelAlias = (typeof ModelAlias)[keyof typeof ModelAlias];

const modelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a model name of letters, digits and ._- (up to 128)');
const aliasName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'an alias name such as production or canary (lowercase letters, digits, -)');
const nonEmpty = z.string().min(1);

export const lineageSchema = z
  .object({
    runWorkflowId: nonEmpty,
    dataSnapshots: z.array(nonEmpty),
    config: z.unknown().optional(),
    trainer: z.string().optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    metrics: z.record(z.string(), z.number()).optional(),
    blessingUri: z.string().nullable().optional(),
  })
  .loose();
export type Lineage = z.infer<typeof lineageSchema>;

export const registerVersionInputSchema = z.object({
  artifactUri: nonEmpty,
  lineage: lineageSchema,
  idempotencyKey: nonEmpty,
});
export type RegisterVersionInput = z.infer<typeof registerVersionInputSchema>;

export const moveAliasInputSchema = z.object({
  to: z.number().int().positive().nullable(),
  expected: z.number().int().positive().nullable(),
  weight: z.number().min(0).max(1).optional(),
  by: nonEmpty,
  reason: nonEmpty,
  runWorkflowId: z.string().nullable().optional(),
  idempotencyKey: nonEmpty.optional(),
});
export type MoveAliasInput = z.input<typeof moveAliasInputSchema>;

export interface ModelVersion {
  model: string;
  version: number;
  artifactUri: string;
  lineage: Lineage;
  idempotencyKey: string;
  createdAt: string;
}

export interface AliasState {
  version: number;
  weight: number;
  movedAt: string;
  by: string;
  reason: string;
  runWorkflowId: string | null;
}

export interface AliasMove {
  /** 1, 2, 3… over all aliases of the model, in the order the moves were applied. */
  sequence: number;
  model: string;
  alias: string;
  from: number | null;
  to: number | null;
  fromWeight: number | null;
  weight: number | null;
  by: string;
  reason: string;
  runWorkflowId: string | null;
  idempotencyKey: string | null;
  at: string;
}

interface RegistryDocument {
  schema: 1;
  model: string;
  versions: ModelVersion[];
  aliases: Record<string, AliasState>;
  history: AliasMove[];
}

export interface ModelRegistryOptions {
  /** Compare-and-set attempts before giving up with STORE_CONFLICT. */
  maxAttempts?: number;
  now?: () => Date;
}

export class ModelRegistry {
  private readonly maxAttempts: number;
  private readonly now: () => Date;

  constructor(
    readonly store: ArtifactStore,
    options: ModelRegistryOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 100;
    this.now = options.now ?? (() => new Date());
  }

  /** Registers a new version (1, 2, 3…), or returns the one already registered with this idempotency key. */
  async registerVersion(model: string, input: RegisterVersionInput): Promise<ModelVersion & { created: boolean }> {
    check(modelName, model, 'model');
    const parsed = check(registerVersionInputSchema, input, 'registerVersion');
    return this.update(model, (doc): { result: ModelVersion & { created: boolean }; write: boolean } => {
      const existing = doc.versions.find((v) => v.idempotencyKey === parsed.idempotencyKey);
      if (existing) return { result: { ...existing, created: false }, write: false };
      const entry: ModelVersion = {
        model,
        version: (doc.versions.at(-1)?.version ?? 0) + 1,
        artifactUri: parsed.artifactUri,
        lineage: parsed.lineage,
        idempotencyKey: parsed.idempotencyKey,
        createdAt: this.now().toISOString(),
      };
      doc.versions.push(entry);
      return { result: { ...entry, created: true }, write: true };
    });
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    const doc = await this.read(model);
    const found = doc?.versions.find((v) => v.version === version);
    if (!found) throw new NotFoundError(`model ${model} version ${version} in ${this.store.uriFor(documentKey(model))}`);
    return found;
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    return (await this.read(model))?.versions ?? [];
  }

  async listModels(): Promise<string[]> {
    const keys = await this.store.list('registry/');
    return keys.filter((k) => /^registry\/[^/]+\/registry\.json$/.test(k)).map((k) => k.split('/')[1]);
  }

  async getAliases(model: string): Promise<Record<string, AliasState>> {
    return (await this.read(model))?.aliases ?? {};
  }

  async getAlias(model: string, alias: string): Promise<AliasState | null> {
    return (await this.getAliases(model))[alias] ?? null;
  }

  /** Every alias move of the model, oldest first (optionally of one alias only). */
  async aliasHistory(model: string, options: { alias?: string } = {}): Promise<AliasMove[]> {
    const history = (await this.read(model))?.history ?? [];
    return options.alias ? history.filter((m) => m.alias === options.alias) : history;
  }

  /**
   * Moves an alias to a version (null removes it) if it is still at `expected` (null: currently unset), else
   * throws `AliasConflictError`. With an idempotency key, a repeat of a move that already succeeded returns that
   * move again (`applied: false`) without checking `expected`, so a retried activity does not fail or move twice.
   * The weight is the alias's share of traffic; it defaults to 1 except for `canary`, which must state it.
   */
  async moveAlias(model: string, alias: string, input: MoveAliasInput): Promise<AliasMove & { applied: boolean }> {
    check(modelName, model, 'model');
    check(aliasName, alias, 'alias');
    const parsed = check(moveAliasInputSchema, input, 'moveAlias');
    if (parsed.to !== null && parsed.weight === undefined && alias === ModelAlias.canary) {
      throw new BadInputError('moveAlias: weight (0..1) is required when moving the canary alias to a version');
    }
    return this.update(model, (doc): { result: AliasMove & { applied: boolean }; write: boolean } => {
      if (parsed.idempotencyKey) {
        const done = doc.history.find((m) => m.idempotencyKey === parsed.idempotencyKey);
        if (done) {
          if (done.alias !== alias || done.to !== parsed.to) {
            throw new BadInputError(
              `moveAlias: idempotency key ${parsed.idempotencyKey} was used for ${done.alias} → ${done.to}, not ${alias} → ${parsed.to}`,
            );
          }
          return { result: { ...done, applied: false }, write: false };
        }
      }
      const current = doc.aliases[alias] ?? null;
      const at = current?.version ?? null;
      if (at !== parsed.expected) throw new AliasConflictError(model, alias, parsed.expected, at);
      if (parsed.to !== null && !doc.versions.some((v) => v.version === parsed.to)) {
        const latest = doc.versions.at(-1)?.version;
        throw new BadInputError(
          `moveAlias: model ${model} has no version ${parsed.to} (${latest ? `versions 1..${latest}` : 'no versions yet'})`,
        );
      }
      const move: AliasMove = {
        sequence: (doc.history.at(-1)?.sequence ?? 0) + 1,
        model,
        alias,
        from: at,
        to: parsed.to,
        fromWeight: current?.weight ?? null,
        weight: parsed.to === null ? null : (parsed.weight ?? 1),
        by: parsed.by,
        reason: parsed.reason,
        runWorkflowId: parsed.runWorkflowId ?? null,
        idempotencyKey: parsed.idempotencyKey ?? null,
        at: this.now().toISOString(),
      };
      if (move.to === null) delete doc.aliases[alias];
      else {
        doc.aliases[alias] = {
          version: move.to,
          weight: move.weight ?? 1,
          movedAt: move.at,
          by: move.by,
          reason: move.reason,
          runWorkflowId: move.runWorkflowId,
        };
      }
      doc.history.push(move);
      return { result: { ...move, applied: true }, write: true };
    });
  }

  private async read(model: string): Promise<RegistryDocument | null> {
    check(modelName, model, 'model');
    const current = await this.store.getWithVersion(documentKey(model));
    return current ? this.parse(model, current.bytes) : null;
  }

  private parse(model: string, bytes: Uint8Array): RegistryDocument {
    try {
      const doc = JSON.parse(bytesToText(bytes)) as RegistryDocument;
      if (doc.schema !== 1 || doc.model !== model || !Array.isArray(doc.versions) || !Array.isArray(doc.history)) {
        throw new Error('not a registry document of schema 1 for this model');
      }
      return doc;
    } catch (err) {
      throw new CorruptRecordError(this.store.uriFor(documentKey(model)), (err as Error).message);
    }
  }

  /** Read, apply `change` to a fresh copy, write if it changed and the document is unchanged since the read; else retry. */
  private async update<T>(model: string, change: (doc: RegistryDocument) => { result: T; write: boolean }): Promise<T> {
    const key = documentKey(model);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const current = await this.store.getWithVersion(key);
      const doc: RegistryDocument = current
        ? this.parse(model, current.bytes)
        : { schema: 1, model, versions: [], aliases: {}, history: [] };
      const { result, write } = change(doc);
      if (!write) return result;
      const outcome = await this.store.putIfVersion(key, JSON.stringify(doc, null, 1), current?.version ?? null);
      if (outcome.ok) return result;
      // Another writer won; back off a little (randomised, growing) so two workers do not keep colliding.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 + attempt * 5)));
    }
    throw new StoreConflictError(key, null, `registry document ${key} kept changing: gave up after ${this.maxAttempts} attempts`);
  }
}

export function documentKey(model: string): string {
  return `registry/${model}/registry.json`;
}

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${[what, ...i.path].join('.')}: ${i.message}`).join('; ');
    throw new BadInputError(issues);
  }
  return parsed.data;
}
