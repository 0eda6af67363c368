//! Files and pictures: the JSON weight formats ([`json`]), atomic writes ([`atomic`]),
//! exact float serialisation for checkpoints ([`exact`]), loss curves ([`plot`]) and
//! classification metrics with their confusion matrix ([`metrics`]).

pub mod atomic;
pub mod exact;
pub mod json;
pub mod metrics;
pub mod plot;
