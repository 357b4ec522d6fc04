-- Contact import speed: every imported row pays for every index on "contacts", and random inserts into the
-- two phone B-trees were most of PostgreSQL's import CPU.

-- Nothing looks contacts up by phone alone (suppression checks go the other way, from a contact to
-- "suppressions"); the index cost ~3 µs of PostgreSQL CPU per imported row.
DROP INDEX "contacts_phone_idx";

-- Same columns and uniqueness, compared bytewise: E.164 numbers are ASCII, so "C" equality is exactly the
-- database collation's, but memcmp instead of strcoll makes each key comparison several times cheaper.
-- ON CONFLICT (list_id, phone) still infers this index (no collation named there matches any).
DROP INDEX "contacts_list_id_phone_key";
CREATE UNIQUE INDEX "contacts_list_id_phone_key" ON "contacts"("list_id", "phone" COLLATE "C");
