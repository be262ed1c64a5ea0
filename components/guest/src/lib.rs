//! What every prompt-mesh component shares: SQL storage that runs under Spin or natively,
//! ids, time, page cursors and the tokens of provider callbacks.
//!
//! A component's logic is written against [`db::Db`], so the same code runs on Spin's SQLite
//! inside the component and on an in-memory database in native unit tests.

pub mod cursor;
pub mod db;
pub mod hook;
pub mod id;
pub mod time;
