//! SQLite task hub.
