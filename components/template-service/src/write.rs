//! Write transactions that queue on SQLite's write lock (`BEGIN IMMEDIATE`) and retry a few
//! times when the database stays busy or a concurrent writer won a race.

use std::time::Duration;

use promptmesh_guest::db::{self, Db, DbError};

use crate::error::Error;

/// Attempts before a busy database or a lost race is reported as a conflict.
const ATTEMPTS: u32 = 4;
/// Pause before the second attempt; it doubles for each further one.
const FIRST_PAUSE: Duration = Duration::from_millis(10);

/// Why a write transaction failed: the caller's fault, or the database's.
#[derive(Debug)]
pub enum Failure {
    Refused(Error),
    Db(DbError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Refused(e)
    }
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Failure {
        Failure::Db(e)
    }
}

/// Runs `body` in a write transaction; `what` names the thing written, for the conflict.
pub fn write<T>(
    db: &dyn Db,
    what: &str,
    mut body: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Error> {
    let mut pause = FIRST_PAUSE;
    for attempt in 1..=ATTEMPTS {
        match db::transaction(db, &mut body) {
            Ok(value) => return Ok(value),
            Err(Failure::Refused(e)) => return Err(e),
            Err(Failure::Db(e)) if !is_retryable(&e) => return Err(e.into()),
            Err(Failure::Db(_)) if attempt == ATTEMPTS => break,
            Err(Failure::Db(_)) => {
                // A failed COMMIT leaves the transaction open; without one this is a no-op.
                let _ = db.execute("ROLLBACK", &[]);
                std::thread::sleep(pause);
                pause *= 2;
            }
        }
    }
    let _ = db.execute("ROLLBACK", &[]);
    Err(Error::Conflict(format!(
        "{what} is being changed by other requests at the same time: try again"
    )))
}

/// Whether another attempt may succeed: the database was locked by another writer, or a
/// uniqueness check lost a race.
fn is_retryable(error: &DbError) -> bool {
    match error {
        DbError::Constraint(_) => true,
        DbError::Failed(message) => {
            let message = message.to_ascii_lowercase();
            message.contains("database is locked")
                || message.contains("database table is locked")
                || message.contains("busy")
        }
        DbError::NoColumn(_) | DbError::Type { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use promptmesh_guest::db::NativeDb;

    use super::*;

    #[test]
    fn a_lost_race_is_retried_then_succeeds() {
        let db = NativeDb::memory();
        let calls = Cell::new(0);
        let result = write(&db, "template `x`", || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                return Err(DbError::Constraint("UNIQUE constraint failed".into()).into());
            }
            Ok(calls.get())
        });
        assert_eq!(result, Ok(3));
    }

    #[test]
    fn a_database_that_stays_locked_is_a_conflict_not_internal() {
        let db = NativeDb::memory();
        let calls = Cell::new(0);
        let result: Result<(), Error> = write(&db, "template `x`", || {
            calls.set(calls.get() + 1);
            Err(DbError::Failed("database is locked".into()).into())
        });
        assert_eq!(calls.get(), 4);
        assert_eq!(
            result,
            Err(Error::Conflict(
                "template `x` is being changed by other requests at the same time: try again"
                    .into()
            ))
        );
    }

    #[test]
    fn other_database_failures_are_internal_at_once() {
        let db = NativeDb::memory();
        let calls = Cell::new(0);
        let result: Result<(), Error> = write(&db, "template `x`", || {
            calls.set(calls.get() + 1);
            Err(DbError::Failed("disk I/O error".into()).into())
        });
        assert_eq!(calls.get(), 1);
        assert_eq!(
            result,
            Err(Error::Internal(
                "template storage failed: database error: disk I/O error".into()
            ))
        );
    }

    #[test]
    fn refusals_are_returned_without_retrying() {
        let db = NativeDb::memory();
        let calls = Cell::new(0);
        let result: Result<(), Error> = write(&db, "template `x`", || {
            calls.set(calls.get() + 1);
            Err(Error::Conflict("name in use".into()).into())
        });
        assert_eq!(calls.get(), 1);
        assert_eq!(result, Err(Error::Conflict("name in use".into())));
    }
}
