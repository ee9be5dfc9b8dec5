//! The reliability suite (issue 9): invariants 1-6 of `docs/reliability.md` under injected faults
//! and hostile input.
//!
//! - `hostile_tracker` (+ `_facade`): a scripted raw tracker (`tracker_peer`) sends over-long
//!   lines, garbage, incomplete or absurd `OK` replies and replies for other `callid`s to
//!   `mogile-tracker` and the facade;
//! - `hostile_storage` (+ `_facade`): a raw HTTP peer sends wrong lengths, endless bodies,
//!   redirects, huge headers and HTML pages to `mogile-storage` and the facade;
//! - `injection`: separators and line breaks in keys, classes, domains and command names;
//! - `bad_input`: bad caller input through the facade;
//! - `cancellation`: operations dropped at random points, then the same client keeps working;
//! - `garbage`: seeded random tracker replies and HTTP answers (invariant 6);
//! - `invariants`: invariants 1-4 end to end, one targeted scenario each;
//! - `soak`: the seeded model-based soak (CI size by default, longer with `RELIABILITY_SOAK_OPS`).

mod bad_input;
mod cancellation;
mod garbage;
mod hostile_storage;
mod hostile_storage_facade;
mod hostile_tracker;
mod hostile_tracker_facade;
mod injection;
mod invariants;
mod lying_node;
mod soak;
mod support;
mod tracker_peer;
