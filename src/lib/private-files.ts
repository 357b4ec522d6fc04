/**
 * Modes of the files the product writes that hold recipients' data (reject reports, archive files and their
 * manifest, the simulator's log of recipients) and of the directories it creates for them: readable by the
 * service's own user only, whatever the umask (the usual 022 left phone numbers world-readable). A directory
 * that already exists keeps its mode: it was the operator's choice.
 */
export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;
