//! The threads that share a minibatch's work with the training loop's own thread: started
//! once per [`Engine`](super::engine::Engine), they wait for work spinning, not asleep.
//!
//! Why not a rayon pool: a minibatch's parallel part lasts a few hundred microseconds, and
//! between two of them the training loop does 10–20 µs of serial work (the optimiser, the
//! transposes). Measured at H = 128, batch 16, two threads: with rayon's pool and the loop
//! blocked in `install`, three threads share the two cores, and the pool's workers, which
//! yield while idle, stretched that serial gap to about 130 µs a minibatch; with the loop's
//! thread working beside a one-worker pool, the worker fell asleep in the gap and waking it
//! took about 90 µs (a virtual machine's cross-CPU wake-up), as long as the work it was
//! woken for. A helper here spins through the gap (`spin_loop`) and parks only after
//! 2 ms without work, so that the threads cost nothing between epochs or after training.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long a helper spins without work before it parks.
const SPIN: Duration = Duration::from_millis(2);

/// A job: the work of one call to [`Helpers::run`], borrowed for that call only.
type Job = dyn Fn() + Sync;

/// What the helpers and the calling thread share.
struct Shared {
    /// Counts the jobs published; a helper runs each once.
    generation: AtomicUsize,
    /// Helpers done with the current job.
    done: AtomicUsize,
    /// The current job, valid while `run` waits for the helpers (see [`Helpers::run`]).
    job: Mutex<Option<JobPtr>>,
    /// A helper's job panicked: its payload, to resume on the calling thread.
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    stop: AtomicBool,
}

/// The job's address with its lifetime erased.
#[derive(Clone, Copy)]
struct JobPtr(*const Job);

// SAFETY: the pointer is only dereferenced while `Helpers::run`, which owns the borrow it
// came from, waits for every helper to finish with it; the job itself is `Sync`.
unsafe impl Send for JobPtr {}

/// `threads - 1` helper threads (none for one thread).
pub struct Helpers {
    shared: Arc<Shared>,
    threads: Vec<(JoinHandle<()>, Thread)>,
}

impl Helpers {
    /// Starts the helpers of a run with `threads` threads in all.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            generation: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            job: Mutex::new(None),
            panic: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let mut helpers = Helpers {
            shared,
            threads: Vec::new(),
        };
        for k in 1..threads.max(1) {
            let shared = Arc::clone(&helpers.shared);
            let handle = std::thread::Builder::new()
                .name(format!("rnn-train helper {k}"))
                .spawn(move || serve(&shared))?;
            let thread = handle.thread().clone();
            helpers.threads.push((handle, thread));
        }
        Ok(helpers)
    }

    /// Threads that work on a [`Helpers::run`] call, the caller's included.
    pub fn count(&self) -> usize {
        self.threads.len() + 1
    }

    /// Runs `work` on the calling thread and on every helper at once, and returns when
    /// all are done (a helper's panic is resumed here).
    pub fn run<'a>(&self, work: &'a (dyn Fn() + Sync + 'a)) {
        if self.threads.is_empty() {
            work();
            return;
        }
        let s = &*self.shared;
        // SAFETY (for the helpers' use of the pointer): this function does not return,
        // nor unwind, before every helper has counted itself done with this job below.
        let erased: &'static Job =
            unsafe { std::mem::transmute::<&'a (dyn Fn() + Sync + 'a), &'static Job>(work) };
        *lock(&s.job) = Some(JobPtr(erased));
        s.done.store(0, Ordering::Release);
        s.generation.fetch_add(1, Ordering::AcqRel);
        for (_, t) in &self.threads {
            t.unpark();
        }
        let mine = catch_unwind(AssertUnwindSafe(work));
        while s.done.load(Ordering::Acquire) < self.threads.len() {
            std::hint::spin_loop();
        }
        *lock(&s.job) = None;
        if let Err(payload) = mine {
            resume_unwind(payload);
        }
        if let Some(payload) = lock(&s.panic).take() {
            resume_unwind(payload);
        }
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for (handle, thread) in self.threads.drain(..) {
            thread.unpark();
            let _ = handle.join();
        }
    }
}

/// A helper's loop: each new generation's job once, spinning between jobs, parked after
/// [`SPIN`] without one.
fn serve(s: &Shared) {
    let mut seen = 0;
    let mut idle_since = Instant::now();
    loop {
        if s.stop.load(Ordering::Acquire) {
            return;
        }
        let generation = s.generation.load(Ordering::Acquire);
        if generation == seen {
            if idle_since.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                std::thread::park_timeout(Duration::from_millis(50));
            }
            continue;
        }
        seen = generation;
        let job = *lock(&s.job);
        if let Some(JobPtr(job)) = job {
            // SAFETY: `run` keeps the job alive until this helper counts itself done.
            let job = unsafe { &*job };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(job)) {
                *lock(&s.panic) = Some(payload);
            }
        }
        s.done.fetch_add(1, Ordering::AcqRel);
        idle_since = Instant::now();
    }
}

/// A poisoned lock's value all the same (the panic that poisoned it is resumed anyway).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
