//! Building `firmware-example` for a QEMU board and running it under `qemu-system-arm`:
//! the `boards` crate, which `xtask` and the firmware's build script share.

pub use boards::*;
