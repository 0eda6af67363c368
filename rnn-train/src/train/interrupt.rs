//! Ctrl-C during training: the first one asks the training loop to stop after the
//! current minibatch (it then writes the best model so far and exits cleanly); a second
//! one ends the process at once, as users expect of a program that is slow to stop.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The exit code of a run stopped by Ctrl-C: 128 + SIGINT, the shells' convention.
pub const EXIT_CODE: u8 = 130;

/// Installs the handler (once per process; the binary's `train` does it).
pub fn install() -> Result<()> {
    ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_CODE));
        }
    })
    .map_err(|e| Error::Internal(format!("cannot handle Ctrl-C: {e}")))
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
