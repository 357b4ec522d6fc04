/**
 * A small reader for the subset of the Prisma schema language this project uses (models, enums, scalar
 * fields, @id/@unique/@default/@map/@db.*, @@index/@@unique/@@map). The schema-drift test uses it to
 * derive what the database must contain; relation fields are skipped (their FK columns are scalars).
 */
export interface SchemaField {
  name: string;
  column: string;
  type: string;
  nativeType?: string;
  optional: boolean;
  list: boolean;
  hasDefault: boolean;
  isId: boolean;
  isUnique: boolean;
}

export interface SchemaIndex {
  columns: string[];
  unique: boolean;
}

export interface SchemaModel {
  name: string;
  table: string;
  fields: SchemaField[];
  indexes: SchemaIndex[];
}

export interface ParsedSchema {
  models: SchemaModel[];
  enums: Map<string, string[]>;
}

const SCALARS = new Set(['String', 'Int', 'BigInt', 'Boolean', 'DateTime', 'Json', 'Float', 'Decimal', 'Bytes']);

function blocks(source: string, keyword: string): { name: string; body: string[] }[] {
  const re = new RegExp(`^${keyword}\\s+(\\w+)\\s*\\{([\\s\\S]*?)^\\}`, 'gm');
  const out: { name: string; body: string[] }[] = [];
  for (const m of source.matchAll(re)) {
    const body = (m[2] ?? '')
      .split('\n')
      .map((l) => l.replace(/\/\/.*$/, '').trim())
      .filter(Boolean);
    out.push({ name: m[1]!, body });
  }
  return out;
}

export function parsePrismaSchema(source: string): ParsedSchema {
  const enums = new Map<string, string[]>();
  for (const e of blocks(source, 'enum')) enums.set(e.name, e.body.map((l) => l.split(/\s+/)[0]!));

  const models: SchemaModel[] = [];
  for (const block of blocks(source, 'model')) {
    const fields: SchemaField[] = [];
    const indexes: SchemaIndex[] = [];
    let table = block.name;
    const byName = new Map<string, string>();
    const pendingBlockAttrs: string[] = [];
    for (const line of block.body) {
      if (line.startsWith('@@')) {
        pendingBlockAttrs.push(line);
        continue;
      }
      const m = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
      if (!m) continue;
      const [, name, type, list, optional, attrs = ''] = m as unknown as [string, string, string, string?, string?, string?];
      const isEnum = enums.has(type);
      if (!SCALARS.has(type) && !isEnum) continue; // relation field
      const column = /@map\("([^"]+)"\)/.exec(attrs)?.[1] ?? name;
      byName.set(name, column);
      fields.push({
        name,
        column,
        type,
        nativeType: /@db\.(\w+(?:\(\d+\))?)/.exec(attrs)?.[1],
        optional: Boolean(optional),
        list: Boolean(list),
        hasDefault: /@default\(/.test(attrs),
        isId: /@id\b/.test(attrs),
        isUnique: /@unique\b/.test(attrs),
      });
    }
    for (const attr of pendingBlockAttrs) {
      const map = /^@@map\("([^"]+)"\)/.exec(attr);
      if (map) {
        table = map[1]!;
        continue;
      }
      const idx = /^@@(index|unique|id)\(\[([^\]]+)\]/.exec(attr);
      if (idx) {
        const columns = idx[2]!.split(',').map((f) => byName.get(f.trim()) ?? f.trim());
        indexes.push({ columns, unique: idx[1] !== 'index' });
      }
    }
    for (const f of fields) {
      if (f.isId || f.isUnique) indexes.push({ columns: [f.column], unique: true });
    }
    models.push({ name: block.name, table, fields, indexes });
  }
  return { models, enums };
}

/** The PostgreSQL type (as information_schema.columns.udt_name reports it) Prisma uses for a field. */
export function expectedUdtName(field: SchemaField, enums: Map<string, string[]>): string {
  if (enums.has(field.type)) return field.list ? `_${field.type}` : field.type;
  const native = field.nativeType?.replace(/\(\d+\)$/, '');
  const base =
    native === 'Uuid' ? 'uuid'
    : native === 'Timestamptz' ? 'timestamptz'
    : native === 'Json' ? 'json'
    : ({
        String: 'text', Int: 'int4', BigInt: 'int8', Boolean: 'bool', DateTime: 'timestamp',
        Json: 'jsonb', Float: 'float8', Decimal: 'numeric', Bytes: 'bytea',
      } as Record<string, string>)[field.type];
  if (!base) throw new Error(`no mapping for ${field.type}`);
  return field.list ? `_${base}` : base;
}
