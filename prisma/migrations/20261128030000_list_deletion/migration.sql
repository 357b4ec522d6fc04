-- Deleting a contact list (src/import/delete-list.ts). `deleting`: the deletion has started (its contacts go in short
-- batches); nothing new can use the list, and running the delete again finishes it. `deleted`: what stays of a list
-- whose finished campaigns still name it (their status pages, messages and exports read the list's name and country);
-- it holds no contacts. A list no campaign names is removed outright instead.
ALTER TYPE "ListStatus" ADD VALUE 'deleting';
ALTER TYPE "ListStatus" ADD VALUE 'deleted';
