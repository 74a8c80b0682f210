//! Library side of `cargo xtask`, so that its logic is testable.

pub mod drift;
pub mod normalize;
pub mod overlay;
pub mod regen;
