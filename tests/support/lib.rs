//! Shared helpers for the cross-crate integration tests in `tests/it`.
//!
//! The fake tracker, test storage node and local cluster live in the published
//! `mogile-testkit` crate; this crate only holds glue that is specific to this
//! workspace's own test suite.
