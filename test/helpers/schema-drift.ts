/** Compares the Prisma data model with a live database; returns one line per disagreement. */
import type { Client } from 'pg';
import { expectedUdtName, type ParsedSchema } from './prisma-schema';

export async function findDrift(schema: ParsedSchema, db: Client): Promise<string[]> {
  const problems: string[] = [];
  const cols = await db.query<{ table_name: string; column_name: string; udt_name: string; is_nullable: string; column_default: string | null }>(
    `SELECT table_name, column_name, udt_name, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  const idx = await db.query<{ table_name: string; columns: string[]; is_unique: boolean }>(
    `SELECT t.relname AS table_name, i.indisunique AS is_unique,
            array_agg(a.attname ORDER BY k.ord)::text[] AS columns
       FROM pg_index i
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      GROUP BY t.relname, i.indexrelid, i.indisunique`,
  );
  const enumRows = await db.query<{ typname: string; labels: string[] }>(
    `SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`,
  );
  const dbEnums = new Map(enumRows.rows.map((r) => [r.typname, r.labels]));
  for (const [name, values] of schema.enums) {
    const actual = dbEnums.get(name);
    if (!actual) problems.push(`enum ${name} missing`);
    else if (actual.join(',') !== values.join(',')) problems.push(`enum ${name}: database has [${actual}], schema has [${values}]`);
  }

  const columns = new Map(cols.rows.map((c) => [`${c.table_name}.${c.column_name}`, c]));
  const tables = new Set(cols.rows.map((c) => c.table_name));
  for (const model of schema.models) {
    if (!tables.has(model.table)) {
      problems.push(`table ${model.table} (model ${model.name}) missing`);
      continue;
    }
    for (const field of model.fields) {
      const where = `${model.table}.${field.column}`;
      const col = columns.get(where);
      if (!col) {
        problems.push(`column ${where} (${model.name}.${field.name}) missing`);
        continue;
      }
      const udt = expectedUdtName(field, schema.enums);
      if (col.udt_name !== udt) problems.push(`column ${where}: type ${col.udt_name}, schema wants ${udt}`);
      // Prisma never marks list columns NOT NULL.
      const wantNullable = field.optional || field.list;
      if ((col.is_nullable === 'YES') !== wantNullable) {
        problems.push(`column ${where}: ${col.is_nullable === 'YES' ? 'nullable' : 'NOT NULL'}, schema wants ${wantNullable ? 'nullable' : 'NOT NULL'}`);
      }
      if (field.hasDefault && col.column_default === null) problems.push(`column ${where}: no default, schema has @default`);
    }
    for (const index of model.indexes) {
      const found = idx.rows.some(
        (r) => r.table_name === model.table && r.columns.join(',') === index.columns.join(',') && r.is_unique === index.unique,
      );
      if (!found) problems.push(`${index.unique ? 'unique ' : ''}index on ${model.table}(${index.columns.join(', ')}) missing`);
    }
  }
  return problems;
}
