import { Pool } from 'pg';
const variants: Record<string, string> = {
  full: require('fs').readFileSync('/tmp/sql.txt', 'utf8'),
  plain: `INSERT INTO contacts (list_id, phone, raw_phone, variables, source_line) SELECT $1::uuid, u.phone, u.raw_phone, u.variables::jsonb, u.source_line FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[]) AS u(phone, raw_phone, variables, source_line)`,
  plainConflict: `INSERT INTO contacts (list_id, phone, raw_phone, variables, source_line) SELECT $1::uuid, u.phone, u.raw_phone, u.variables::jsonb, u.source_line FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[]) AS u(phone, raw_phone, variables, source_line) ON CONFLICT DO NOTHING RETURNING source_line`,
};
(async () => {
  const pg = new Pool({ connectionString: 'postgresql://postgres@127.0.0.1:5432/bulksms_bench', max: 1 });
  for (const [name, sql] of Object.entries(variants)) {
    const { rows: [l] } = await pg.query(`INSERT INTO contact_lists (name) VALUES ('x'||random()) RETURNING id`);
    const c = await pg.connect(); await c.query('BEGIN');
    let total = 0;
    for (let b = 0; b < 20; b++) {
      const n = 5000;
      const phones = Array.from({ length: n }, (_, i) => `+919${String(b * n + i).padStart(9, '0')}`);
      const vars = phones.map((_, i) => `{"name":"Aarav Sharma","city":"Mumbai","amount":"123.45","note":"order ${i}"}`);
      const t = process.hrtime.bigint();
      await c.query(sql, [l.id, phones, phones, vars, phones.map((_, i) => b * n + i + 1)]);
      total += Number(process.hrtime.bigint() - t) / 1e6;
    }
    await c.query('ROLLBACK'); c.release();
    console.log(name, (total / 100000 * 1000).toFixed(2), 'µs/row');
    await pg.query('DELETE FROM contact_lists WHERE id=$1', [l.id]);
  }
  await pg.end();
})();
