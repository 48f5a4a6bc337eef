//! The Tokio quarantine: a real Tokio runtime hosted on its own OS threads, with
//! futures, cancellation, IO and channels bridged to asupersync, so Tokio-only crates
//! keep working during a migration while nothing outlives its region.
