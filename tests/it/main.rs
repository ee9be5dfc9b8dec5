//! One test binary for the cross-crate integration tests; one module per scenario.

mod architecture;
mod conformance;
mod facade_allowed_hosts;
mod facade_checksum;
mod facade_device_usage;
mod facade_download_failover;
mod facade_errors;
mod facade_listing;
mod facade_roundtrip;
mod facade_to_file;
mod facade_tracing;
mod facade_tracker_status;
mod facade_upload_failover;
mod hedged_reads;
mod reliability;
mod striped_reads;
