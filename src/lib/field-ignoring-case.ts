/**
 * `record[name]`, else the value of the first key equal to `name` but for case: what providers and their callbacks
 * send as `Status`, `status` or `STATUS` is the same field.
 */
export function fieldIgnoringCase<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  if (Object.hasOwn(record, name)) return record[name];
  const lower = name.toLowerCase();
  const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : record[key];
}
