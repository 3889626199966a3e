//! Plain stochastic gradient descent.

use ndarray::{Array2, ArrayView2};

use super::{
    check_dense, check_learning_rate, for_each_row, Optimizer, OptimizerState, StateTable,
};
use crate::Result;

/// Stochastic gradient descent: `w ← w − lr · g`.
///
/// word2vec and fastText decay the rate linearly with
/// [`LinearDecay`](crate::schedule::LinearDecay) and
/// [`Optimizer::set_learning_rate`].
///
/// ```
/// use embed_core::optim::{Optimizer, Sgd};
/// use ndarray::array;
/// let mut opt = Sgd::new(0.1)?;
/// let mut table = array![[1.0_f32, 1.0], [2.0, 2.0], [3.0, 3.0]];
/// opt.step_rows("emb", &mut table, &[2], array![[10.0_f32, -10.0]].view())?;
/// assert_eq!(table, array![[1.0, 1.0], [2.0, 2.0], [2.0, 4.0]]);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sgd {
    learning_rate: f32,
    table: StateTable,
}

impl Sgd {
    const KIND: &'static str = "sgd";

    /// SGD with the given learning rate (finite, `>= 0`).
    pub fn new(learning_rate: f32) -> Result<Self> {
        check_learning_rate(learning_rate)?;
        Ok(Sgd {
            learning_rate,
            table: StateTable::default(),
        })
    }
}

#[inline]
fn descend(weights: &mut [f32], grad: &[f32], learning_rate: f32) {
    for (w, g) in weights.iter_mut().zip(grad) {
        *w -= learning_rate * g;
    }
}

impl Optimizer for Sgd {
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()> {
        check_learning_rate(learning_rate)?;
        self.learning_rate = learning_rate;
        Ok(())
    }

    fn step_dense(&mut self, name: &str, param: &mut [f32], grad: &[f32]) -> Result<()> {
        check_dense(name, param, grad)?;
        self.table.slot(name, param.len(), 0, 0.0)?.steps += 1;
        descend(param, grad, self.learning_rate);
        Ok(())
    }

    fn step_rows(
        &mut self,
        name: &str,
        param: &mut Array2<f32>,
        rows: &[usize],
        grads: ArrayView2<'_, f32>,
    ) -> Result<()> {
        let lr = self.learning_rate;
        for_each_row(name, param, rows, grads, |_, w, g| descend(w, g, lr))?;
        self.table.slot(name, param.len(), 0, 0.0)?.steps += 1;
        Ok(())
    }

    fn steps(&self, name: &str) -> u64 {
        self.table.steps(name)
    }

    fn state(&self) -> OptimizerState {
        self.table.to_state(Self::KIND, self.learning_rate)
    }

    fn load_state(&mut self, state: OptimizerState) -> Result<()> {
        self.learning_rate = self.table.load(Self::KIND, 0, state)?;
        Ok(())
    }
}
