//! The blocking pool: threads for work that would stall a worker (file system calls,
//! `spawn_blocking` jobs).
//!
//! Threads are started on demand up to a cap; a thread that finds no job for the
//! keep-alive period exits. `shutdown` (runtime drop) lets queued jobs finish and joins
//! every thread, so none outlives the runtime.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::task::core::lock;

/// A job for the pool: one allocation per job.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// Default number of blocking threads a runtime may run at once (Tokio's default).
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;
/// Default time an idle blocking thread waits for a job before exiting.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

pub(crate) struct BlockingPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    state: Mutex<PoolState>,
    job_ready: Condvar,
    thread_name: String,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    max_threads: usize,
    keep_alive: Duration,
    shutdown: bool,
    handles: Vec<JoinHandle<()>>,
}

impl BlockingPool {
    pub(crate) fn new(thread_name: &str) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    max_threads: DEFAULT_MAX_THREADS,
                    keep_alive: DEFAULT_KEEP_ALIVE,
                    shutdown: false,
                    handles: Vec::new(),
                }),
                job_ready: Condvar::new(),
                thread_name: format!("{thread_name}-blocking"),
            }),
        }
    }

    pub(crate) fn configure(&self, max_threads: usize, keep_alive: Duration) {
        let mut state = lock(&self.inner.state);
        state.max_threads = max_threads.max(1);
        state.keep_alive = keep_alive;
    }

    /// Queues `job`; starts a thread for it if none is idle and the cap allows.
    /// `Err(job)` once the pool has shut down.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        let mut state = lock(&self.inner.state);
        if state.shutdown {
            return Err(job);
        }
        state.queue.push_back(job);
        if state.idle > 0 {
            self.inner.job_ready.notify_one();
            return Ok(());
        }
        if state.threads < state.max_threads {
            state.handles.retain(|h| !h.is_finished());
            let inner = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name(self.inner.thread_name.clone())
                .spawn(move || inner.run());
            match spawned {
                Ok(handle) => {
                    state.threads += 1;
                    state.handles.push(handle);
                }
                // No thread now: the job waits for a running one to come free.
                Err(_) if state.threads > 0 => {}
                Err(_) => return Err(state.queue.pop_back().expect("just queued")),
            }
        }
        Ok(())
    }

    /// Threads currently alive (running a job or idle).
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        lock(&self.inner.state).threads
    }

    /// Stops accepting jobs, lets queued ones run, and joins every thread.
    pub(crate) fn shutdown(&self) {
        let handles = {
            let mut state = lock(&self.inner.state);
            state.shutdown = true;
            std::mem::take(&mut state.handles)
        };
        self.inner.job_ready.notify_all();
        for handle in handles {
            let _ = handle.join();
        }
    }
}

impl PoolInner {
    fn run(&self) {
        let mut state = lock(&self.state);
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // A panicking job must not take the pool thread (and its count) down;
                // jobs report panics to their waiter themselves.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                state = lock(&self.state);
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let keep_alive = state.keep_alive;
            let (next, timeout) = self
                .job_ready
                .wait_timeout(state, keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                break;
            }
        }
        state.threads -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn idle_threads_exit_after_keep_alive_and_shutdown_joins() {
        let pool = BlockingPool::new("t");
        pool.configure(2, Duration::from_millis(50));
        let (tx, rx) = mpsc::channel();
        for i in 0..4 {
            let tx = tx.clone();
            assert!(pool.submit(Box::new(move || tx.send(i).unwrap())).is_ok());
        }
        let mut got: Vec<i32> = (0..4).map(|_| rx.recv().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2, 3]);
        assert!(pool.threads() <= 2, "the cap holds");
        let start = std::time::Instant::now();
        while pool.threads() > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "idle threads never exited"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        pool.shutdown();
        assert!(pool.submit(Box::new(|| {})).is_err());
    }
}
