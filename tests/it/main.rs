//! One test binary for the cross-crate integration tests; one module per scenario.

mod architecture;
