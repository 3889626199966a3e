//! Neural-network layers with explicit forward and backward passes.
//!
//! Each layer is a small set of functions: a forward pass that returns its
//! output together with what the backward pass needs (a cache), and a
//! backward pass that turns the gradient of the output into gradients of
//! the inputs and parameters. There is no tape and no graph: a model
//! composes layers in its own forward function and calls their backward
//! passes in reverse order. BERT and ELMo training share these layers.
//!
//! Every backward pass is checked against central finite differences in
//! the tests.

pub mod attention;
pub mod char_cnn;
pub mod cross_entropy;
pub mod dropout;
pub mod embedding;
pub mod fastmath;
pub mod gelu;
pub mod gradcheck;
pub mod highway;
pub mod layer_norm;
pub mod linear;
pub mod lstm;
pub mod sampled_softmax;
pub mod softmax;
#[cfg(test)]
mod testing;
