//! Recurrent cells, forward pass only, fixed-size and heap-free. One file per cell kind.

pub mod elman;
