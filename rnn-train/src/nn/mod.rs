//! The network for training: its architecture ([`arch`]) and parameters ([`model`]), the
//! cells ([`elman`], [`gru`], [`lstm`]: one step forward and backward, side by side), the
//! recurrent driver over time, layers and directions ([`recurrent`]), the output layer and
//! its loss ([`loss`]), and the whole network's forward and backward pass
//! ([`network`]), in the notation of the project:
//!
//! ```text
//! a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)
//! y_t = softmax(W_ya · a_t + b_y)
//! ```

pub mod arch;
pub mod batched;
pub mod conv;
pub mod elman;
pub mod gemm;
pub mod gru;
pub mod linalg;
pub mod loss;
pub mod lstm;
pub mod model;
pub mod network;
pub mod recurrent;

pub use arch::{Arch, CellType, InputKind, Task, TensorInfo, MAX_LAYERS};
pub use model::{InputSpec, Model, Norm, TargetStats};
pub use network::{backward, forward, Example, Targets, Workspace};
pub use recurrent::SeqInput;

/// One recurrent layer's weights in one direction (or their gradients): input weights
/// `w_x` (G·H×I_l), recurrent weights `w_h` (G·H×H), input bias `b_x` (G·H), recurrent
/// bias `b_h` (G·H; empty for Elman).
#[derive(Clone, Copy, Debug, Default)]
pub struct LayerW<'a> {
    pub w_x: &'a [f32],
    pub w_h: &'a [f32],
    pub b_x: &'a [f32],
    pub b_h: &'a [f32],
}

/// Mutable counterpart of [`LayerW`].
#[derive(Debug, Default)]
pub struct LayerWMut<'a> {
    pub w_x: &'a mut [f32],
    pub w_h: &'a mut [f32],
    pub b_x: &'a mut [f32],
    pub b_h: &'a mut [f32],
}

/// What one step of one layer reads, forward and backward: its weights, its input `x_t`
/// and the state before the step.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    pub w: LayerW<'a>,
    pub x: linalg::LayerInput<'a>,
    pub prev: &'a [f32],
}
