#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! `mogilefs`: work in progress; the pure parts (paging, resume, options) land first.
// The client that uses these parts lands once the lower crates' APIs do.
#![allow(dead_code)]

mod options;
mod paging;
mod resume;

pub use options::{
    ChecksumPolicy, DeleteOptions, GetOptions, ListOptions, PathsOptions, Progress, PutOptions,
};
