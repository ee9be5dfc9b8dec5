//! `mogile-object-store` against an embedded `TestCluster` (or an external cluster for the
//! conformance suite, see `support`).

mod conformance;
mod mapping;
mod support;
