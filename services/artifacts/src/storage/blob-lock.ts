import type { EntityManager } from 'typeorm';

/** Class id of the artifacts blob-address advisory locks (the two-key form keeps them apart from any others). */
export const BLOB_LOCK_CLASS = 0x0a27;
/** $1 = BLOB_LOCK_CLASS, $2 = the sha256 (its first 32 bits name the address). */
export const BLOB_LOCK_SQL = `SELECT pg_advisory_xact_lock($1, ('x' || substr($2, 1, 8))::bit(32)::int)`;

/**
 * Serialises, across replicas, everything that puts content at an address or removes it while no blob row
 * exists yet: an upload's commit takes it before its INSERT, the orphan sweep before it deletes an object that
 * has no row. Held until the transaction ends, so the sweep either runs before the upload writes the object or
 * sees its committed row.
 */
export async function lockBlobAddress(m: EntityManager, sha256: string): Promise<void> {
  await m.query(BLOB_LOCK_SQL, [BLOB_LOCK_CLASS, sha256]);
}
