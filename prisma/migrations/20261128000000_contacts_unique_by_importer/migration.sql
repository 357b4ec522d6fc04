-- One contact per number per list is now guaranteed by the importer, the only writer of a list's contacts:
-- it loads rows with COPY and removes later occurrences of a number in one pass at the end of the import
-- (src/import/duplicates.ts). Random inserts into this unique index were ~40 % of PostgreSQL's work per
-- imported row (1M rows: 10.7 s of COPY with it, 7.0 s without); nothing else looks contacts up by number.
DROP INDEX "contacts_list_id_phone_key";
