//@ path: compat/src/host.rs
//@ quarantine: compat/**
// In the quarantine Tokio's spawning model is allowed; a detached thread is not.
pub fn start() {
    tokio::spawn(async {});
    let _ = tokio::task::spawn_blocking(|| {});
    std::thread::spawn(|| {});
}
